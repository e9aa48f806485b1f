import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { z } from 'zod';

import { StembotError } from '../errors.js';
import { type FfmpegTools, fileUrlArg, lastStderrLine, runTool } from './ffmpeg.js';

/** What ffprobe says about one audio stream of a file (the first unless asked for another). */
export interface ProbeResult {
  /** Seconds, from the stream or else the container; null when neither knows (measured after decoding). */
  readonly durationS: number | null;
  readonly channels: number;
  readonly sampleRate: number;
  /** ffmpeg codec name, e.g. 'mp3', 'pcm_s16le', 'aac'. */
  readonly codec: string;
  /** ffmpeg demuxer name(s), e.g. 'wav', 'mov,mp4,m4a,3gp,3g2,mj2'. */
  readonly formatName: string;
}

/** ffprobe writes numbers as strings and omits what it does not know; NaN, ∞ and such become undefined. */
const optionalNumber = z.coerce.number().optional().catch(undefined);

const ffprobeOutput = z.object({
  streams: z
    .array(
      z.object({
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        sample_rate: optionalNumber,
        channels: optionalNumber,
        duration: optionalNumber,
      }),
    )
    .default([]),
  format: z.object({ format_name: z.string().default(''), duration: optionalNumber }).optional(),
});

/**
 * Demuxers that open other files named inside the input (playlists, manifests). An uploaded file must not
 * make us read other files of the server, so these are refused; `-protocol_whitelist file` already rules
 * out the network.
 */
const REFERENCING_FORMATS = new Set(['hls', 'dash', 'concat']);

/** ffmpeg options for untrusted inputs, shared by probe and decode. */
export const SAFE_INPUT_OPTIONS: readonly string[] = ['-protocol_whitelist', 'file'];

/**
 * Describes audio stream `audioStream` (counted among the file's audio streams from 0, as ffmpeg's `-map 0:a:N`)
 * from one ffprobe run; a file with fewer audio streams is refused with INPUT_NO_AUDIO.
 */
export async function probeAudio(tools: FfmpegTools, file: string, audioStream = 0): Promise<ProbeResult> {
  const path = resolve(file);
  await checkInputFile(path);
  const { stdout, stderr, code } = await runTool(tools.ffprobe, [
    '-v',
    'error',
    ...SAFE_INPUT_OPTIONS,
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    fileUrlArg(path),
  ]);
  if (code !== 0) throw undecodable(`ffprobe exited with ${code}: ${lastStderrLine(stderr)}`);

  let parsed: z.infer<typeof ffprobeOutput>;
  try {
    parsed = ffprobeOutput.parse(JSON.parse(stdout.toString('utf8')));
  } catch (error) {
    throw undecodable(error);
  }
  const formatName = parsed.format?.format_name ?? '';
  if (formatName.split(',').some((name) => REFERENCING_FORMATS.has(name))) {
    throw new StembotError(
      'INPUT_UNDECODABLE',
      'This file is a playlist or streaming manifest, not audio. Please send the audio or video file itself.',
    );
  }
  const audio = parsed.streams.filter((s) => s.codec_type === 'audio');
  const stream = audio[audioStream];
  if (!stream) {
    throw new StembotError(
      'INPUT_NO_AUDIO',
      audio.length === 0
        ? 'This file has no sound track, so there is nothing to separate. ' +
            'Please send a song, or a video with sound.'
        : `This file has no audio stream number ${audioStream} (counted from 0): it has ${audio.length}.`,
    );
  }
  const channels = positive(stream.channels);
  const sampleRate = positive(stream.sample_rate);
  if (channels === undefined || sampleRate === undefined) {
    throw undecodable(`audio stream without channels or sample rate: ${JSON.stringify(stream)}`);
  }
  return {
    durationS: positive(stream.duration) ?? positive(parsed.format?.duration) ?? null,
    channels,
    sampleRate,
    codec: stream.codec_name ?? 'unknown',
    formatName,
  };
}

/** Missing and empty files get their own messages, before any tool runs. */
async function checkInputFile(path: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    size = info.size;
  } catch (error) {
    const missing = new StembotError(
      'INPUT_MISSING',
      'The file to separate could not be found (it may have been moved or deleted). Please send it again.',
    );
    missing.cause = error;
    throw missing;
  }
  if (size === 0) {
    throw new StembotError('INPUT_EMPTY', 'The file is empty (0 bytes). Please check it and send it again.');
  }
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

/** The user-facing message stays generic; the technical reason goes to `cause` for the logs. */
export function undecodable(cause: unknown): StembotError {
  const error = new StembotError(
    'INPUT_UNDECODABLE',
    'This file could not be read as audio: it may be damaged, or not an audio or video file. ' +
      'Please try another copy, or convert it to MP3, FLAC or WAV and send it again.',
  );
  error.cause = typeof cause === 'string' ? new Error(cause) : cause;
  return error;
}
