import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';

import { decodeAudio } from '../audio/decode.js';
import type { FfmpegTools } from '../audio/ffmpeg.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../audio/limits.js';
import { allocStereo, fitLength, type Stereo } from '../audio/stereo.js';
import { isStembotError, StembotError } from '../errors.js';

/**
 * Tracks of a MUSDB18-format folder (Rafii et al. 2017, "The MUSDB18 corpus for music separation"), in either
 * of its two layouts:
 * - stems: `<Artist - Title>.stem.mp4`, one MP4 with five AAC audio streams (STEMS_STREAMS);
 * - WAV (MUSDB18-HQ): a folder `<Artist - Title>/` with `mixture.wav`, `vocals.wav` and either
 *   `accompaniment.wav` or `drums.wav`, `bass.wav`, `other.wav`.
 * Tracks are looked for in the folder and one folder down, so both `musdb18/` (with `train/`, `test/`) and
 * `musdb18/train/` work.
 */

/** Audio stream numbers (among the audio streams) of a MUSDB18 .stem.mp4, as the dataset defines them. */
export const STEMS_STREAMS = { mixture: 0, drums: 1, bass: 2, other: 3, vocals: 4 } as const;

const STEM_FILE_SUFFIX = '.stem.mp4';
/** WAV files that make a folder a MUSDB18-HQ track folder (any one of them; the rest are checked on load). */
const TRACK_WAVS = ['mixture', 'vocals', 'accompaniment', 'drums', 'bass', 'other'] as const;
const ACCOMPANIMENT_PARTS = ['drums', 'bass', 'other'] as const;

/**
 * Which mixture is separated:
 * - `stream`: the mixture the dataset provides (stream 0, or mixture.wav), as museval / SiSEC do: the realistic
 *   case, a song as it was mastered and encoded. In the stems format it was encoded on its own, so it differs from
 *   vocals + accompaniment by about −25 dB (the dataset's README): a floor of error no separator can remove.
 * - `sum`: vocals + accompaniment, so the references add up to the input exactly.
 */
export type MixtureSource = 'stream' | 'sum';
export const MIXTURE_SOURCES: readonly MixtureSource[] = ['stream', 'sum'];

/** A track found in a folder, not loaded yet. */
export interface DatasetTrackSource {
  /** Path relative to the listed folder, '/'-separated, without `.stem.mp4`: "train/Artist - Title". */
  readonly name: string;
  readonly layout: 'stems' | 'wav';
  /** The .stem.mp4 file, or the track's folder. */
  readonly path: string;
}

/** A loaded track: 44.1 kHz stereo, all three the length of the vocals. */
export interface DatasetTrack {
  readonly name: string;
  readonly mixture: Stereo;
  readonly vocals: Stereo;
  /** drums + bass + other */
  readonly accompaniment: Stereo;
}

export interface LoadTrackOptions {
  /** default 'stream' (see MixtureSource) */
  readonly mixture?: MixtureSource;
  /** default DEFAULT_INPUT_LIMITS */
  readonly limits?: InputLimits;
}

/**
 * The tracks in `folder` and in its subfolders (one level), sorted by name. Throws a BAD_ARGUMENT StembotError
 * naming the folder when it is not a folder, is empty, or holds no track.
 */
export async function listDatasetTracks(folder: string): Promise<DatasetTrackSource[]> {
  let entries: string[];
  try {
    if (!(await stat(folder)).isDirectory()) throw new Error('not a folder');
    entries = await readdir(folder);
  } catch (error) {
    const notFolder = new StembotError(
      'BAD_ARGUMENT',
      `${folder} is not a folder (a MUSDB18 folder was expected)`,
    );
    notFolder.cause = error;
    throw notFolder;
  }
  if (entries.length === 0) throw new StembotError('BAD_ARGUMENT', `The folder ${folder} is empty.`);

  const tracks: DatasetTrackSource[] = [];
  const found = (layout: DatasetTrackSource['layout'], path: string) => {
    const name = relative(folder, path).split(sep).join('/');
    tracks.push({ name: layout === 'stems' ? name.slice(0, -STEM_FILE_SUFFIX.length) : name, layout, path });
  };
  for (const entry of visible(entries)) {
    const path = join(folder, entry);
    const kind = await kindOf(path);
    if (kind === 'stems' || kind === 'wav') {
      found(kind, path);
    } else if (kind === 'folder') {
      for (const inner of visible(await readdir(path))) {
        const innerPath = join(path, inner);
        const innerKind = await kindOf(innerPath);
        if (innerKind === 'stems' || innerKind === 'wav') found(innerKind, innerPath);
      }
    }
  }
  if (tracks.length === 0) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `No MUSDB18 track in ${folder}: expected *${STEM_FILE_SUFFIX} files, or track folders with mixture.wav, ` +
        'vocals.wav and accompaniment.wav (or drums.wav, bass.wav, other.wav), in it or one folder down.',
    );
  }
  return tracks.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Decodes a track's mixture and references. Throws a StembotError naming the file (and stream) at fault when a
 * stem is missing or does not decode.
 */
export async function loadDatasetTrack(
  tools: FfmpegTools,
  source: DatasetTrackSource,
  options: LoadTrackOptions = {},
): Promise<DatasetTrack> {
  const mixtureSource = options.mixture ?? 'stream';
  const limits = options.limits ?? DEFAULT_INPUT_LIMITS;
  const read: StemReader =
    source.layout === 'stems'
      ? (stem) => decodeStem(tools, source.path, stem, limits)
      : await wavReader(tools, source.path, mixtureSource, limits);

  const parts: StemName[] =
    source.layout === 'wav' && (await isFile(join(source.path, 'accompaniment.wav')))
      ? ['accompaniment']
      : [...ACCOMPANIMENT_PARTS];
  // All at once: each decode is mostly ffmpeg's start-up (~0.25 s for a .stem.mp4), the audio is short work.
  // This holds every stem at once (~210 MB each for a 10-minute track).
  const [vocals, ...decoded] = await Promise.all([
    read('vocals'),
    ...parts.map(read),
    ...(mixtureSource === 'stream' ? [read('mixture')] : []),
  ]);
  const decodedParts = decoded.slice(0, parts.length);
  const mixtureStream: Stereo | undefined = decoded[parts.length];
  const length = vocals.left.length;
  let accompaniment: Stereo;
  if (decodedParts.length === 1) {
    accompaniment = fitLength(decodedParts[0], length);
  } else {
    accompaniment = allocStereo(length);
    for (const part of decodedParts) addInto(accompaniment, part);
  }
  let mixture: Stereo;
  if (mixtureStream) {
    mixture = fitLength(mixtureStream, length);
  } else {
    mixture = allocStereo(length);
    addInto(mixture, vocals);
    addInto(mixture, accompaniment);
  }
  return { name: source.name, mixture, vocals, accompaniment };
}

type StemName = (typeof TRACK_WAVS)[number];
type StemReader = (stem: StemName) => Promise<Stereo>;

/** One stream of a .stem.mp4. */
async function decodeStem(
  tools: FfmpegTools,
  file: string,
  stem: StemName,
  limits: InputLimits,
): Promise<Stereo> {
  if (stem === 'accompaniment') throw new Error('a .stem.mp4 has no accompaniment stream: sum its parts');
  const stream = STEMS_STREAMS[stem];
  return named(`${file} (stream ${stream}, ${stem})`, async () => {
    return (await decodeAudio(tools, file, limits, { audioStream: stream })).audio;
  });
}

/** A reader of `<folder>/<stem>.wav`; checks first that every file the track needs is there. */
async function wavReader(
  tools: FfmpegTools,
  folder: string,
  mixture: MixtureSource,
  limits: InputLimits,
): Promise<StemReader> {
  const has = async (stem: string) => isFile(join(folder, `${stem}.wav`));
  const needed: string[] = ['vocals'];
  if (mixture === 'stream') needed.push('mixture');
  if (!(await has('accompaniment'))) needed.push(...ACCOMPANIMENT_PARTS);
  for (const stem of needed) {
    if (!(await has(stem))) {
      throw new StembotError(
        'INPUT_MISSING',
        `${join(folder, `${stem}.wav`)} is missing: a MUSDB18-HQ track folder needs mixture.wav, vocals.wav and ` +
          'accompaniment.wav (or drums.wav, bass.wav and other.wav).',
      );
    }
  }
  return (stem) => {
    const file = join(folder, `${stem}.wav`);
    return named(file, async () => (await decodeAudio(tools, file, limits)).audio);
  };
}

/** sum += part, over the sum's length (a shorter part counts as zero-padded). */
function addInto(sum: Stereo, part: Stereo): void {
  const n = Math.min(sum.left.length, part.left.length);
  for (let i = 0; i < n; i++) {
    sum.left[i] += part.left[i];
    sum.right[i] += part.right[i];
  }
}

/** Errors of a decode, with the file (and stream) they are about in front of the message. */
async function named<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isStembotError(error)) throw error;
    const wrapped = new StembotError(error.code, `${what}: ${error.message}`);
    wrapped.cause = error;
    throw wrapped;
  }
}

type EntryKind = 'stems' | 'wav' | 'folder' | 'other';

async function kindOf(path: string): Promise<EntryKind> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 'other';
  if (info.isFile()) return basename(path).toLowerCase().endsWith(STEM_FILE_SUFFIX) ? 'stems' : 'other';
  if (!info.isDirectory()) return 'other';
  const names = new Set(await readdir(path));
  return TRACK_WAVS.some((stem) => names.has(`${stem}.wav`)) ? 'wav' : 'folder';
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Hidden entries (.DS_Store, ._ files) are never tracks. */
function visible(entries: readonly string[]): string[] {
  return entries.filter((entry) => !entry.startsWith('.'));
}
