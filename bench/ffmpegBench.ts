import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { seededRandom } from '../src/fixtures/seededRandom.js';
import { decodeAudio } from '../src/pipeline/audio/decode.js';
import { type OutputFormat, FORMAT_EXTENSIONS, encodeAudio } from '../src/pipeline/audio/encode.js';
import { type FfmpegTools, locateFfmpeg } from '../src/pipeline/audio/ffmpeg.js';
import { probeAudio } from '../src/pipeline/audio/probe.js';
import { SAMPLE_RATE, type Stereo } from '../src/pipeline/audio/stereo.js';
import { PERFORMANCE_NOTES, type Figure, figure, log, median, min, round, secondsSince } from './report.js';
import { SONG_SECONDS } from './stftBench.js';

export interface FfmpegBenchOptions {
  /** length of the synthetic signal; figures are scaled to 240 s when shorter */
  readonly durationS: number;
  readonly repetitions: number;
}

interface Operation {
  readonly key: string;
  readonly label: string;
  readonly reference: number | null;
  readonly referenceText?: string;
}

const ENCODES: ReadonlyArray<Operation & { readonly format: OutputFormat }> = [
  {
    key: 'encodeMp3_320k',
    label: 'MP3 320k',
    format: 'mp3',
    reference: 3.0,
    referenceText: 'MP3 320k 3.0 s',
  },
  {
    key: 'encodeFlac24',
    label: 'FLAC 24-bit',
    format: 'flac',
    reference: 0.47,
    referenceText: 'FLAC 24-bit 0.47 s',
  },
  {
    key: 'encodeOpus160k',
    label: 'Opus 160k',
    format: 'opus',
    reference: 2.0,
    referenceText: 'Opus 160k 2.0 s',
  },
  { key: 'encodeWavFloat32', label: 'WAV 32-bit float', format: 'wav', reference: null },
];

export interface FfmpegOperationResult extends Figure {
  readonly runsS: number[];
  readonly minS: number;
  readonly fileMb?: number;
}

export interface FfmpegBenchResult {
  readonly method: string;
  readonly ffmpegVersion: string;
  readonly signalSeconds: number;
  readonly scaledTo240s: boolean;
  readonly generateSignalS: number;
  readonly operations: Record<string, FfmpegOperationResult>;
  readonly probeOnlyS: number;
}

/**
 * A seeded, music-like 4-minute stereo signal: random notes every 250 ms (fundamental + 4 decaying harmonics,
 * different per channel), a slow tremolo and a little white noise; peak below 0.8. Never a downloaded file.
 */
export function syntheticSong(seconds: number, seed = 44100): Stereo {
  const length = Math.round(seconds * SAMPLE_RATE);
  const random = seededRandom(seed);
  const noteLength = Math.round(0.25 * SAMPLE_RATE);
  const make = (): Float32Array => {
    const x = new Float32Array(length);
    let phase = 0;
    let step = 0;
    for (let i = 0; i < length; i++) {
      if (i % noteLength === 0) {
        const semitone = Math.floor(random.uniform(-24, 24));
        step = (2 * Math.PI * 220 * 2 ** (semitone / 12)) / SAMPLE_RATE;
      }
      phase += step;
      if (phase > 2 * Math.PI * 64) phase -= 2 * Math.PI * 64;
      const envelope = Math.exp(-(i % noteLength) / (0.12 * SAMPLE_RATE));
      const tremolo = 0.8 + 0.2 * Math.sin((2 * Math.PI * 0.3 * i) / SAMPLE_RATE);
      let tone = 0;
      for (let h = 1; h <= 5; h++) tone += Math.sin(h * phase) / (h * h);
      x[i] = 0.35 * envelope * tremolo * tone + 0.005 * random.uniform(-1, 1);
    }
    return x;
  };
  return { left: make(), right: make() };
}

function ffmpegVersion(tools: FfmpegTools): string {
  const result = spawnSync(tools.ffmpeg, ['-version'], { encoding: 'utf8' });
  return result.stdout?.split('\n')[0]?.trim() || 'unknown';
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return secondsSince(start);
}

/** ffmpeg decode/encode seconds for a 4-minute stereo signal through the project's adapter. */
export async function runFfmpegBench(options: FfmpegBenchOptions): Promise<FfmpegBenchResult> {
  const tools = locateFfmpeg();
  const version = ffmpegVersion(tools);
  const scale = SONG_SECONDS / options.durationS;
  const scaled = options.durationS !== SONG_SECONDS;
  let start = performance.now();
  const audio = syntheticSong(options.durationS);
  const generateSignalS = secondsSince(start);
  log(`ffmpeg: ${options.durationS} s synthetic signal generated in ${generateSignalS.toFixed(2)} s`);

  const dir = await mkdtemp(join(tmpdir(), 'stembot-bench-'));
  try {
    const operations: Record<string, FfmpegOperationResult> = {};
    const result = (operation: Operation, runs: number[], fileBytes?: number): FfmpegOperationResult => {
      const measured = median(runs) * scale;
      const notes = [
        ...(operation.referenceText ? [] : ['no reference figure']),
        ...(scaled
          ? [
              `measured on ${options.durationS} s and scaled x${round(scale)} to 240 s (--quick): fixed costs such as process start and ffprobe are scaled too, so this overstates`,
            ]
          : []),
      ];
      return {
        ...figure(measured, 's', 'lower', {
          reference: operation.reference,
          ...(operation.referenceText
            ? {
                referenceSource: `${PERFORMANCE_NOTES} "ffmpeg (one thread, 4-min stereo song)": ${operation.referenceText}`,
              }
            : {}),
          ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
        }),
        runsS: runs.map((t) => round(t)),
        minS: round(min(runs) * scale),
        ...(fileBytes === undefined ? {} : { fileMb: round((fileBytes * scale) / 1e6, 3) }),
      };
    };

    const files: Partial<Record<OutputFormat, string>> = {};
    for (const operation of ENCODES) {
      const file = join(dir, `song${FORMAT_EXTENSIONS[operation.format]}`);
      files[operation.format] = file;
      const runs: number[] = [];
      for (let r = 0; r < options.repetitions; r++) {
        runs.push(await timed(() => encodeAudio(tools, audio, file, operation.format)));
      }
      const { size } = await stat(file);
      operations[operation.key] = result(operation, runs, size);
      log(`ffmpeg: encode ${operation.label} ${median(runs).toFixed(2)} s`);
    }

    const mp3 = files.mp3;
    if (!mp3) throw new Error('the MP3 was not encoded');
    const limits = { maxDurationS: 3600, maxChannels: 6 };
    const decodeRuns: number[] = [];
    const probeRuns: number[] = [];
    for (let r = 0; r < options.repetitions; r++) {
      probeRuns.push(await timed(() => probeAudio(tools, mp3)));
      start = performance.now();
      const decoded = await decodeAudio(tools, mp3, limits);
      decodeRuns.push(secondsSince(start));
      const expected = audio.left.length;
      if (Math.abs(decoded.audio.left.length - expected) > SAMPLE_RATE) {
        throw new Error(`decoded ${decoded.audio.left.length} samples, expected about ${expected}`);
      }
    }
    operations.decodeMp3ToFloat32 = result(
      {
        key: 'decodeMp3ToFloat32',
        label: 'decode MP3',
        reference: 0.66,
        referenceText: 'decode MP3 0.66 s into a Float32Array through a pipe (0.29 s to null)',
      },
      decodeRuns,
    );
    log(`ffmpeg: decode MP3 ${median(decodeRuns).toFixed(2)} s`);

    return {
      method:
        `locateFfmpeg + encodeAudio(tools, audio, file, format) for mp3, flac, opus, wav, then ` +
        `decodeAudio(tools, mp3, {maxDurationS: 3600, maxChannels: 6}) (includes its ffprobe call, see ` +
        `probeOnlyS); seeded synthetic stereo signal at 44.1 kHz; ${options.repetitions} run(s) each, ` +
        `measured = median; files under os.tmpdir(), removed afterwards; ffmpeg threads left at its default`,
      ffmpegVersion: version,
      signalSeconds: options.durationS,
      scaledTo240s: scaled,
      generateSignalS: round(generateSignalS),
      operations,
      probeOnlyS: round(median(probeRuns)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
