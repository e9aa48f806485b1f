import { endianness } from 'node:os';
import { resolve } from 'node:path';

import { StembotError } from '../errors.js';
import { type FfmpegTools, fileUrlArg, lastStderrLine, streamTool } from './ffmpeg.js';
import type { InputLimits } from './limits.js';
import { type ProbeResult, SAFE_INPUT_OPTIONS, probeAudio, undecodable } from './probe.js';
import { SAMPLE_RATE, type Stereo } from './stereo.js';

export interface DecodeOptions {
  /** Aborting kills ffmpeg; decodeAudio then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Which audio stream to decode, counted among the file's audio streams from 0 (ffmpeg `-map 0:a:N`); default 0.
   * For multi-track files such as MUSDB18's .stem.mp4 (0 mixture, 1 drums, 2 bass, 3 other, 4 vocals).
   */
  readonly audioStream?: number;
}

export interface DecodeResult {
  readonly audio: Stereo;
  /** The probe of the input; durationS is the decoded duration when the probe did not know it. */
  readonly source: ProbeResult;
}

/**
 * The decoded length may exceed the probed one a little (resampler rounding, encoder padding), so a file that
 * passed the probe is not refused for a few samples; a probe that lies by more than this is caught.
 */
const DECODED_LENGTH_TOLERANCE_S = 0.5;
/** First allocation when the probe gave no duration; the buffer grows as needed. */
const UNKNOWN_DURATION_GUESS_S = 30;
/** Native-endian float samples, so a Float32Array can view ffmpeg's bytes directly. */
const RAW_FORMAT = endianness() === 'LE' ? 'f32le' : 'f32be';
const FRAME_BYTES = 8;

/**
 * Decode one audio stream (the first unless `options.audioStream`) of any file ffmpeg reads (audio or video) to
 * 44.1 kHz stereo float (§E.1).
 * Limits are checked on the probe before decoding, then again on the decoded length.
 */
export async function decodeAudio(
  tools: FfmpegTools,
  file: string,
  limits: InputLimits,
  options: DecodeOptions = {},
): Promise<DecodeResult> {
  const stream = options.audioStream ?? 0;
  if (!Number.isInteger(stream) || stream < 0) {
    throw new RangeError(`audioStream must be an integer ≥ 0 (got ${stream})`);
  }
  const probe = await probeAudio(tools, file, stream);
  if (probe.channels > limits.maxChannels) {
    throw new StembotError(
      'INPUT_TOO_MANY_CHANNELS',
      `This file has ${probe.channels} audio channels, but at most ${limits.maxChannels} are accepted. ` +
        'Please send a stereo (or mono) version of it.',
    );
  }
  if (probe.durationS !== null && probe.durationS > limits.maxDurationS) {
    const limit = formatMinutes(limits.maxDurationS, 'down');
    throw tooLong(`This file is ${formatMinutes(probe.durationS, 'up')} long, but the limit is ${limit}.`);
  }

  const maxFrames = Math.floor((limits.maxDurationS + DECODED_LENGTH_TOLERANCE_S) * SAMPLE_RATE);
  const expectedFrames = Math.ceil((probe.durationS ?? UNKNOWN_DURATION_GUESS_S) * SAMPLE_RATE);
  const sink = new StereoSink(Math.min(expectedFrames, maxFrames + 1), maxFrames + 1);
  const result = await streamTool(tools.ffmpeg, decodeArgs(resolve(file), probe.channels, stream), {
    signal: options.signal,
    onStdout: (chunk) => sink.write(chunk) <= maxFrames,
  });
  if (result.stopped) {
    throw tooLong(`This file is longer than the limit of ${formatMinutes(limits.maxDurationS, 'down')}.`);
  }
  if (result.code !== 0) {
    throw undecodable(`ffmpeg exited with ${result.code}: ${lastStderrLine(result.stderr)}`);
  }

  const audio = sink.finish();
  if (audio.left.length === 0) {
    throw new StembotError(
      'INPUT_ZERO_LENGTH',
      'The sound track of this file is empty (it lasts 0 seconds). Please check the file and send it again.',
    );
  }
  return { audio, source: { ...probe, durationS: probe.durationS ?? audio.left.length / SAMPLE_RATE } };
}

function decodeArgs(path: string, channels: number, stream: number): string[] {
  // ffmpeg's own mono → stereo upmix lowers the level by 3 dB; the spec duplicates mono as [x, x], unit gain.
  // More than two channels use ffmpeg's standard downmix matrix (5.1: L + 0.707·C + 0.707·Ls, LFE dropped).
  const channelArgs = channels === 1 ? ['-af', 'pan=stereo|c0=c0|c1=c0'] : ['-ac', '2'];
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...SAFE_INPUT_OPTIONS,
    '-i',
    fileUrlArg(path),
    '-map',
    `0:a:${stream}`,
    '-vn',
    '-sn',
    '-dn',
    ...channelArgs,
    '-ar',
    String(SAMPLE_RATE),
    '-c:a',
    `pcm_${RAW_FORMAT}`,
    '-f',
    RAW_FORMAT,
    'pipe:1',
  ];
}

/**
 * Deinterleaves ffmpeg's output straight into two growing Float32Arrays, so the raw bytes are never all
 * held at once. Sized from the probe, it usually needs no growth; at most one trimming copy per channel at
 * the end.
 */
class StereoSink {
  private left: Float32Array;
  private right: Float32Array;
  private length = 0;
  private pending: Buffer | undefined;

  constructor(
    initialFrames: number,
    private readonly hardCapFrames: number,
  ) {
    this.left = new Float32Array(initialFrames);
    this.right = new Float32Array(initialFrames);
  }

  /** Adds a chunk of interleaved frames (a frame may straddle chunks); returns the length so far. */
  write(chunk: Buffer): number {
    let bytes = chunk;
    if (this.pending) {
      bytes = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const frames = Math.floor(bytes.length / FRAME_BYTES);
    const used = frames * FRAME_BYTES;
    if (used < bytes.length) this.pending = Buffer.from(bytes.subarray(used));
    const take = Math.min(frames, this.hardCapFrames - this.length);
    if (take <= 0) return this.length;

    // Pooled Buffers can start at any byte offset; a Float32Array view needs 4-byte alignment.
    const samples =
      bytes.byteOffset % 4 === 0
        ? new Float32Array(bytes.buffer, bytes.byteOffset, take * 2)
        : new Float32Array(new Uint8Array(bytes.subarray(0, take * FRAME_BYTES)).buffer);
    this.reserve(this.length + take);
    const { left, right } = this;
    for (let i = 0, j = this.length; i < take; i++, j++) {
      left[j] = samples[2 * i];
      right[j] = samples[2 * i + 1];
    }
    this.length += take;
    return this.length;
  }

  finish(): Stereo {
    const n = this.length;
    if (n === this.left.length) return { left: this.left, right: this.right };
    // One channel at a time, dropping the old array before copying the next, keeps the peak at 1.5×.
    const left = this.left.slice(0, n);
    this.left = new Float32Array(0);
    const right = this.right.slice(0, n);
    this.right = new Float32Array(0);
    return { left, right };
  }

  private reserve(frames: number): void {
    if (frames <= this.left.length) return;
    const grown = Math.max(frames, Math.ceil(this.left.length * 1.5), this.left.length + 10 * SAMPLE_RATE);
    const capacity = Math.min(grown, this.hardCapFrames);
    const grow = (old: Float32Array): Float32Array => {
      const next = new Float32Array(capacity);
      next.set(old.subarray(0, this.length));
      return next;
    };
    this.left = grow(this.left);
    this.right = grow(this.right);
  }
}

function tooLong(what: string): StembotError {
  return new StembotError('INPUT_TOO_LONG', `${what} Please send a shorter file, or cut it into parts.`);
}

/** m:ss; the input's duration rounds up and the limit down, so "over the limit" never reads as equal. */
export function formatMinutes(seconds: number, rounding: 'up' | 'down'): string {
  const whole = rounding === 'up' ? Math.ceil(seconds) : Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}
