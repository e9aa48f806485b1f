import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';

import { StembotError, isStembotError } from '../errors.js';
import { type FfmpegTools, fileUrlArg, lastStderrLine, runTool } from './ffmpeg.js';
import { SAMPLE_RATE, type Stereo } from './stereo.js';
import { encodeWav, toInt24 } from './wav.js';

/**
 * flac: FLAC 24-bit · wav: 32-bit float WAV · wav16: 16-bit PCM WAV · mp3: LAME 320 kbit/s CBR ·
 * opus: Opus 160 kbit/s in Ogg.
 */
export type OutputFormat = 'flac' | 'wav' | 'wav16' | 'mp3' | 'opus';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['flac', 'wav', 'wav16', 'mp3', 'opus'];

/** Ogg Opus as .ogg rather than RFC 7845's .opus: chat clients and players recognise it more widely. */
export const FORMAT_EXTENSIONS: Readonly<Record<OutputFormat, string>> = {
  flac: '.flac',
  wav: '.wav',
  wav16: '.wav',
  mp3: '.mp3',
  opus: '.ogg',
};

export interface EncodeOptions {
  /** Aborting kills the encoder; encodeAudio then rejects with the signal's reason and leaves no file. */
  readonly signal?: AbortSignal;
  /**
   * MP3 and Opus only: the bitrate in kbit/s (default 320 for MP3, 160 for Opus), lowered when a result must fit
   * a chat's upload limit. MP3 takes 32–320, Opus 6–510.
   */
  readonly bitrateKbps?: number;
}

/** The bitrate range each lossy encoder accepts, kbit/s. */
export const BITRATE_RANGE_KBPS: Readonly<Record<'mp3' | 'opus', readonly [number, number]>> = {
  mp3: [32, 320],
  opus: [6, 510],
};

const LITTLE_ENDIAN = endianness() === 'LE';
/** Frames per stdin chunk: 512 KB of float input, so the interleaved copy is never the whole song. */
const CHUNK_FRAMES = 65536;

interface FfmpegEncoding {
  /** Raw input fed on stdin: float clamped to ±1, or int32 holding the spec's 24-bit codes (FLAC). */
  readonly input: 'float' | 'int24in32';
  readonly output: readonly string[];
}

const FFMPEG_ENCODINGS: Record<'flac' | 'mp3' | 'opus', FfmpegEncoding> = {
  // The 24-bit codes are rounded here (spec §E.2, as WAV s24) and sent shifted into int32; ffmpeg's flac
  // encoder at bits_per_raw_sample 24 drops the 8 zero bits, so the FLAC holds exactly those codes.
  flac: {
    input: 'int24in32',
    output: ['-c:a', 'flac', '-sample_fmt', 's32', '-bits_per_raw_sample', '24', '-f', 'flac'],
  },
  mp3: { input: 'float', output: ['-c:a', 'libmp3lame', '-b:a', '320k', '-f', 'mp3'] },
  // libopus runs at 48 kHz: ffmpeg resamples; decoders resample back (decodeAudio does).
  opus: { input: 'float', output: ['-c:a', 'libopus', '-b:a', '160k', '-f', 'ogg'] },
};

/**
 * Write `audio` to `file`. The data goes to a temp file beside it, renamed over `file` at the end, so a
 * reader never sees a half-written file; on any failure the temp file is removed (errors other than
 * FFMPEG_MISSING and aborts become OUTPUT_FAILED).
 */
export async function encodeAudio(
  tools: FfmpegTools,
  audio: Stereo,
  file: string,
  format: OutputFormat,
  options: EncodeOptions = {},
): Promise<void> {
  const target = resolve(file);
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.part`);
  try {
    // Fails early with the errno (ENOENT, EACCES…) that ffmpeg would only describe in its stderr.
    await access(dirname(target), constants.W_OK);
    if (format === 'wav' || format === 'wav16') {
      if (options.bitrateKbps !== undefined) {
        throw new StembotError('BAD_ARGUMENT', 'WAV is uncompressed, so it takes no bitrate.');
      }
      options.signal?.throwIfAborted();
      await writeFile(temp, encodeWav(audio, format === 'wav' ? 'f32' : 's16'), { flag: 'wx' });
    } else {
      await encodeWithFfmpeg(tools, audio, temp, withBitrate(format, options.bitrateKbps), options.signal);
    }
    options.signal?.throwIfAborted();
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined); // the original error matters more
    if (isStembotError(error) || options.signal?.aborted) throw error;
    throw outputFailed(target, error);
  }
}

function withBitrate(format: 'flac' | 'mp3' | 'opus', kbps: number | undefined): FfmpegEncoding {
  const encoding = FFMPEG_ENCODINGS[format];
  if (kbps === undefined) return encoding;
  if (format === 'flac') throw new StembotError('BAD_ARGUMENT', 'FLAC is lossless, so it takes no bitrate.');
  const [low, high] = BITRATE_RANGE_KBPS[format];
  if (!Number.isInteger(kbps) || kbps < low || kbps > high) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `The ${format.toUpperCase()} bitrate must be ${low}–${high} kbit/s (got ${kbps}).`,
    );
  }
  const output = [...encoding.output];
  output[output.indexOf('-b:a') + 1] = `${kbps}k`;
  return { ...encoding, output };
}

async function encodeWithFfmpeg(
  tools: FfmpegTools,
  audio: Stereo,
  temp: string,
  encoding: FfmpegEncoding,
  signal: AbortSignal | undefined,
): Promise<void> {
  const endian = LITTLE_ENDIAN ? 'le' : 'be';
  const rawFormat = encoding.input === 'float' ? `f32${endian}` : `s32${endian}`;
  const args = [
    '-hide_banner',
    '-v',
    'error',
    '-f',
    rawFormat,
    '-ar',
    String(SAMPLE_RATE),
    '-ac',
    '2',
    '-i',
    'pipe:0',
    ...encoding.output,
    '-y',
    fileUrlArg(temp),
  ];
  const stdin = Readable.from(interleave(audio, encoding.input));
  const { code, stderr } = await runTool(tools.ffmpeg, args, { stdin, signal });
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${lastStderrLine(stderr)}`);
}

/** Native-endian interleaved chunks, made one at a time as ffmpeg reads them. */
function* interleave(audio: Stereo, kind: FfmpegEncoding['input']): Generator<Buffer> {
  const { left, right } = audio;
  for (let start = 0; start < left.length; start += CHUNK_FRAMES) {
    const frames = Math.min(CHUNK_FRAMES, left.length - start);
    if (kind === 'float') {
      const out = new Float32Array(2 * frames);
      for (let i = 0; i < frames; i++) {
        out[2 * i] = clampUnit(left[start + i]);
        out[2 * i + 1] = clampUnit(right[start + i]);
      }
      yield Buffer.from(out.buffer);
    } else {
      const out = new Int32Array(2 * frames);
      for (let i = 0; i < frames; i++) {
        out[2 * i] = toInt24(left[start + i]) << 8;
        out[2 * i + 1] = toInt24(right[start + i]) << 8;
      }
      yield Buffer.from(out.buffer);
    }
  }
}

/** Lossy encoders get ±1 at most (spec §E.2: clamp before any integer or lossy encoding); NaN becomes 0. */
function clampUnit(x: number): number {
  if (x >= 1) return 1;
  if (x <= -1) return -1;
  return x === x ? x : 0;
}

const REASONS: Record<string, string> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'the folder does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the disk is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EISDIR: 'a folder of that name is in the way',
};

function outputFailed(target: string, cause: unknown): StembotError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) || 'the encoder failed';
  const error = new StembotError(
    'OUTPUT_FAILED',
    `Could not save the result as "${basename(target)}": ${reason}. ` +
      'Check that the output folder exists, is writable and has free space, then try again.',
  );
  error.cause = cause;
  return error;
}
