import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { decodeAudio } from '../pipeline/audio/decode.js';
import { encodeAudio, FORMAT_EXTENSIONS } from '../pipeline/audio/encode.js';
import type { FfmpegTools } from '../pipeline/audio/ffmpeg.js';
import type { InputLimits } from '../pipeline/audio/limits.js';
import { stereoDuration } from '../pipeline/audio/stereo.js';
import { isStembotError, StembotError } from '../pipeline/errors.js';
import { mixVocalOverBacking } from '../pipeline/mixer/autoMix.js';
import type { DeliveredFile } from './delivery.js';
import type { JobResult, MixRequest, SeparateJobData } from './jobSchema.js';
import type { JobStage } from './progress.js';
import { songTitle } from './songTitle.js';
import { fetchSource, type FetchSourceOptions } from './sources/fetchSource.js';

/** Reports a stage's progress, `fraction` 0..1 of that stage. */
export type StageProgress = (stage: JobStage, fraction: number) => void;

/** What a job made, ready to deliver. */
export interface JobOutput {
  readonly files: DeliveredFile[];
  /** a picture to show with the result (the spectrogram), if any */
  readonly picture: string | null;
  readonly stats: Omit<JobResult, 'deliveredTo'>;
  /** model steps looked up in the step cache (the hit rate in /stats) */
  readonly cacheLookups: number;
}

/** What the mix step needs from the worker. */
export interface MixSteps {
  readonly tools: FfmpegTools;
  readonly limits: InputLimits;
  readonly fetch: FetchSourceOptions;
  readonly signal?: AbortSignal;
}

/**
 * A mix job's making (`/mix`, issue 7): fetch both recordings → decode → the mixer (automatic or guide vocal)
 * → one file in the asked format, with every decision of the mixer in the stats. Bad input names which of the
 * two files it is about.
 */
export async function produceMix(
  steps: MixSteps,
  data: SeparateJobData,
  mix: MixRequest,
  folder: string,
  progress: StageProgress,
): Promise<JobOutput> {
  const started = performance.now();
  progress('download', 0);
  // download errors keep their own class: it tells the worker whether a retry can help
  const backingFile = await fetchSource(data.source, folder, 'backing', steps.fetch);
  progress('download', 0.5);
  const vocalFile = await fetchSource(mix.vocal, folder, 'vocal', steps.fetch);
  progress('decode', 0);
  const decode = (file: string) => decodeAudio(steps.tools, file, steps.limits, { signal: steps.signal });
  const backing = (await about('backing track', () => decode(backingFile))).audio;
  const vocal = (await about('vocal recording', () => decode(vocalFile))).audio;
  progress('mix', 0);
  const mixed = await mixVocalOverBacking(vocal, backing, mix.settings, (fraction) =>
    progress('mix', fraction),
  );
  const mixedS = (performance.now() - started) / 1000;
  progress('encode', 0);
  const format = data.settings.format;
  const out = join(folder, 'out');
  await mkdir(out, { recursive: true });
  const name = `${songTitle(data.source)} - Mix${FORMAT_EXTENSIONS[format]}`;
  const path = join(out, name);
  await encodeAudio(steps.tools, mixed.audio, path, format, { signal: steps.signal });
  const files: DeliveredFile[] = [{ stem: 'mix', path, name, bytes: (await stat(path)).size }];
  const durationS = stereoDuration(mixed.audio);
  return {
    files,
    picture: null,
    stats: {
      durationS,
      processingS: mixedS,
      realTimeFactor: durationS > 0 ? mixedS / durationS : 0,
      engine: 'mixer',
      device: 'cpu',
      preset: mix.settings.preset === 'auto' ? 'auto mix' : 'guide vocal',
      cacheHits: [],
      files: files.map(({ stem, name: fileName, bytes }) => ({ stem, name: fileName, bytes })),
      mixReport: mixed.report,
    },
    cacheLookups: 0,
  };
}

/** Runs `step`; a user-facing decode error is prefixed with which input it concerns ("Your vocal recording: …"). */
async function about<T>(input: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isStembotError(error)) throw new StembotError(error.code, `Your ${input}: ${error.message}`);
    throw error;
  }
}
