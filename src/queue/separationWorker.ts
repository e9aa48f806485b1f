import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { Job, type Queue, type QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

import type { StembotMetrics } from '../http/metrics.js';

import { decodeAudio } from '../pipeline/audio/decode.js';
import { encodeAudio, FORMAT_EXTENSIONS } from '../pipeline/audio/encode.js';
import type { FfmpegTools } from '../pipeline/audio/ffmpeg.js';
import type { InputLimits } from '../pipeline/audio/limits.js';
import { stereoDuration } from '../pipeline/audio/stereo.js';
import { noCache, type StepCache } from '../pipeline/cache/stepCache.js';
import { isStembotError } from '../pipeline/errors.js';
import { mixVocalOverBacking } from '../pipeline/mixer/autoMix.js';
import { runKarafanRecipe } from '../pipeline/recipe/karafanRecipe.js';
import { FINAL_STEM_KEYS, RECIPE_FILE_TITLES } from '../pipeline/recipe/outputNames.js';
import { PRESETS } from '../pipeline/recipe/presets.js';
import { writeOutputs } from '../pipeline/recipe/writeOutputs.js';
import type { ChosenEngine } from '../pipeline/separators/chooseEngine.js';
import type { DeliveredFile, Deliverer, DeliveryBundle, PlatformAdapters } from './delivery.js';
import { attachedRequests, closeRequests, recordDelivery, wasDelivered } from './jobRequests.js';
import { recordJobOutcome } from './jobOutcomes.js';
import {
  type JobResult,
  SEPARATE_QUEUE,
  type SeparateJobData,
  type SeparationRequest,
  separateJobSchema,
} from './jobSchema.js';
import { type JobProgress, type JobStage, throttleProgress } from './progress.js';
import { type QueueContext, stembotKey } from './queueContext.js';
import { removeOpenRequest } from './openRequests.js';
import { releaseQuota } from './quotas.js';
import { isLinkFetchError } from './sources/fetchLink.js';
import { fetchSource, type FetchSourceOptions } from './sources/fetchSource.js';
import { type JobOutput, type MixSteps, produceMix, type StageProgress } from './mixJob.js';
import { songTitle } from './songTitle.js';

export interface SeparationWorkerOptions {
  /** our own keys (requests, deliveries, quotas) */
  readonly context: QueueContext;
  /** BullMQ's connection for the worker: blocking commands, so not shared with `context.redis` */
  readonly connection: Redis;
  /** chosen once: the ONNX sessions stay loaded in the inference thread between jobs (design §4) */
  readonly engine: ChosenEngine;
  readonly cache: StepCache;
  readonly tools: FfmpegTools;
  readonly adapters: PlatformAdapters;
  /** per-job scratch folders live here and are removed when the job ends */
  readonly workDir: string;
  readonly limits: InputLimits & { readonly maxInputBytes: number; readonly downloadTimeoutMs: number };
  /** STEMBOT_ALLOW_PRIVATE_URLS: tests and private deployments only */
  readonly allowPrivateUrls: boolean;
  readonly logger: Logger;
  /** BullMQ lock: renewed every half; a killed worker's job is taken over after at most about this long */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  /** times a job may lose its worker and be taken over before it fails for good (default 2) */
  readonly maxStalledCount?: number;
  /** minimum ms between progress reports of one stage */
  readonly progressIntervalMs?: number;
  /** job and stage figures for /metrics */
  readonly metrics?: StembotMetrics;
}

/** Errors the user caused (bad file, bad link, too long): retrying cannot help, so they fail at once. */
function isPermanent(error: unknown): boolean {
  if (isLinkFetchError(error)) return !error.transient;
  if (!isStembotError(error)) return false;
  return error.code.startsWith('INPUT_') || error.code === 'URL_REFUSED';
}

/** BullMQ's failedReason for a job whose workers kept dying (moveStalledJobsToWait). */
const STALLED_OUT = 'job stalled more than allowable limit';

const STALLED_FAILURE =
  'The separation of this song was interrupted several times, so I stopped trying. Please send it again later.';

/** failedReason of a job all of whose requests were cancelled. */
export const CANCELLED = 'Cancelled by its users.';

const INTERNAL_FAILURE =
  'Something went wrong on our side while separating this song. Please try again later.';

/**
 * The BullMQ worker of the `separate` queue: fetch the source → decode (limits first) → the KaraFan recipe →
 * encode → deliver to every request attached to the job, each exactly once. Concurrency 1: one GPU, one job.
 */
export function startSeparationWorker(options: SeparationWorkerOptions): Worker<SeparateJobData, JobResult> {
  const worker = new Worker<SeparateJobData, JobResult>(
    SEPARATE_QUEUE,
    (job, _token, signal) => processJob(options, job, signal),
    {
      connection: options.connection,
      prefix: options.context.prefix,
      concurrency: 1,
      lockDuration: options.lockDurationMs ?? 60_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      // a job whose worker died is taken over up to this many times, then fails (see watchStalledFailures)
      maxStalledCount: options.maxStalledCount ?? 2,
    },
  );
  worker.on('failed', (job, error) =>
    options.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job failed'),
  );
  worker.on('error', (error) => options.logger.error({ err: error.message }, 'worker error'));
  return worker;
}

/**
 * A job whose workers kept dying fails inside BullMQ's stalled-job check, never reaching processJob's catch, so
 * nobody would tell its users. QueueEvents reports every failure to every worker: the users of a stalled-out job
 * are told here, by the one worker that claims the job. Returns an unsubscribe function.
 */
export function watchStalledFailures(
  options: SeparationWorkerOptions,
  queue: Queue<SeparateJobData, JobResult>,
  events: QueueEvents,
): () => void {
  const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
    if (!failedReason.includes(STALLED_OUT)) return;
    void (async () => {
      // every worker hears the event: the first to claim the job tells its users, once
      const claim = stembotKey(options.context, 'job', jobId, 'stalled-notice');
      if ((await options.context.redis.set(claim, '1', 'EX', 86400, 'NX')) !== 'OK') return;
      const job = await Job.fromId<SeparateJobData, JobResult>(queue, jobId);
      const parsed = separateJobSchema.safeParse(job?.data);
      if (job && parsed.success) await failForGood(options, job, parsed.data.request, STALLED_FAILURE);
    })().catch((error: unknown) =>
      options.logger.error({ jobId, err: String(error) }, 'could not tell the users of a stalled-out job'),
    );
  };
  events.on('failed', onFailed);
  return () => events.off('failed', onFailed);
}

/** A job ended in failure with no retry left: count it, then tell every request's user why (never throws). */
async function failForGood(
  options: SeparationWorkerOptions,
  job: Job,
  first: SeparationRequest,
  reason: string,
): Promise<void> {
  const jobId = job.id!;
  await recordJobOutcome(options.context, {
    outcome: 'failed',
    finishedAt: Date.now(),
    waitS: waitSeconds(job),
  })
    .then(() =>
      answerAll(options, jobId, first, (deliverer, request) =>
        deliverer.fail(request.replyTo, reason, request),
      ),
    )
    .catch((error: unknown) =>
      options.logger.error({ jobId, err: String(error) }, 'could not tell the users that the job failed'),
    );
}

async function processJob(
  options: SeparationWorkerOptions,
  job: Job<SeparateJobData, JobResult>,
  signal?: AbortSignal,
): Promise<JobResult> {
  const parsed = separateJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('This request could not be read; please send it again.');
  const data = parsed.data;
  const jobId = job.id!;
  const folder = join(options.workDir, jobId);
  const started = performance.now();
  const report = throttleProgress(
    (progress: JobProgress) => void job.updateProgress(progress).catch(() => undefined),
    options.progressIntervalMs ?? 1000,
  );
  const stageWeights: Record<JobStage, readonly [number, number]> = {
    download: [0, 5],
    decode: [5, 8],
    separate: [8, 95],
    mix: [8, 95],
    encode: [95, 98],
    deliver: [98, 100],
  };
  let stageNow: { name: string; since: number } | undefined;
  const endStage = () => {
    if (stageNow)
      options.metrics?.stageSeconds.observe(
        { stage: stageNow.name },
        (performance.now() - stageNow.since) / 1000,
      );
    stageNow = undefined;
  };
  const progress: StageProgress = (stage, fraction) => {
    if (stageNow?.name !== stage) {
      // A cancelled job stops at the next stage; a model step under way runs to its end (it holds the thread).
      signal?.throwIfAborted();
      endStage();
      stageNow = { name: stage, since: performance.now() };
    }
    const [from, to] = stageWeights[stage];
    const pct = from + (to - from) * fraction;
    const elapsed = (performance.now() - started) / 1000;
    report({ stage, pct, queuePosition: 0, etaS: pct > 10 ? (elapsed * (100 - pct)) / pct : null });
  };

  try {
    await rm(folder, { recursive: true, force: true }); // a killed attempt may have left files
    await mkdir(folder, { recursive: true });
    const made = data.mix
      ? await produceMix(mixStepsOf(options, signal), data, data.mix, folder, progress)
      : await produceStems(options, data, folder, progress, signal);
    const { files, stats } = made;
    const bundle: DeliveryBundle = {
      jobId,
      title: songTitle(data.source),
      settings: data.settings,
      files,
      picture: made.picture,
      performer: (data.source.kind === 'platform-file' && data.source.performer) || null,
      stats,
    };
    progress('deliver', 0);
    const deliveredTo = await answerAll(options, jobId, data.request, (deliverer, request) =>
      deliverer.deliver(request.replyTo, bundle, request),
    );
    progress('deliver', 1);
    endStage();
    options.metrics?.jobs.inc({ outcome: 'completed' });
    options.metrics?.audioSeconds.observe(stats.durationS);
    options.metrics?.realTimeFactor.observe(stats.realTimeFactor);
    options.metrics?.outputBytes.inc(files.reduce((sum, file) => sum + file.bytes, 0));
    await recordJobOutcome(options.context, {
      outcome: 'completed',
      finishedAt: Date.now(),
      waitS: waitSeconds(job),
      durationS: stats.durationS,
      processingS: stats.processingS,
      cacheHits: stats.cacheHits.length,
      cacheLookups: made.cacheLookups,
    }).catch((error: unknown) =>
      options.logger.warn({ jobId, err: String(error) }, 'job outcome not recorded'),
    );
    return { ...stats, deliveredTo };
  } catch (error) {
    if (signal?.aborted) {
      // every user of the job cancelled it (cancelRequest): they were answered then, nobody is told again
      options.logger.info({ jobId }, 'job cancelled');
      options.metrics?.jobs.inc({ outcome: 'cancelled' });
      throw new UnrecoverableError(CANCELLED);
    }
    const permanent = isPermanent(error);
    const lastAttempt = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const reason = permanent && error instanceof Error ? error.message : INTERNAL_FAILURE;
    options.logger.warn(
      { jobId, permanent, lastAttempt, err: error instanceof Error ? error.message : String(error) },
      'job attempt failed',
    );
    options.metrics?.jobs.inc({ outcome: lastAttempt ? 'failed' : 'retried' });
    if (lastAttempt) await failForGood(options, job, data.request, reason);
    if (permanent) throw new UnrecoverableError(reason);
    throw error;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** A separation job's making: fetch → decode → the KaraFan recipe → the asked stems encoded, and a picture. */
async function produceStems(
  options: SeparationWorkerOptions,
  data: SeparateJobData,
  folder: string,
  progress: StageProgress,
  signal?: AbortSignal,
): Promise<JobOutput> {
  progress('download', 0);
  const input = await fetchSource(data.source, folder, 'input', fetchOptionsOf(options, signal));
  progress('decode', 0);
  const { audio } = await decodeAudio(options.tools, input, options.limits, { signal });
  progress('separate', 0);
  const preset = PRESETS[data.settings.preset];
  const result = await runKarafanRecipe(audio, {
    music: options.engine.music,
    vocals: options.engine.vocals,
    preset,
    cache: options.cache,
    onProgress: ({ fraction }) => progress('separate', fraction),
  });
  progress('encode', 0);
  const { format, stems } = data.settings;
  const out = join(folder, 'out');
  const outputs = await writeOutputs(options.tools, result, out, {
    format,
    stems: stems.filter((stem) => stem !== 'guide'),
    plot: true,
  });
  const title = songTitle(data.source);
  const files: DeliveredFile[] = [];
  for (const stem of stems) {
    let path: string;
    let name: string;
    if (stem === 'guide') {
      // the karaoke guide: Music with the Vocals laid back guideDb under their own level (the mixer's guide preset)
      const guide = await mixVocalOverBacking(result.files['4_F']!, result.files['5_F']!, {
        preset: 'guide',
        guideDb: data.settings.guideDb,
      });
      name = `${title} - Music with guide vocal${FORMAT_EXTENSIONS[format]}`;
      path = join(out, name);
      await encodeAudio(options.tools, guide.audio, path, format, { signal });
    } else {
      const written = outputs.files.find((file) => file.key === FINAL_STEM_KEYS[stem]);
      if (!written) continue;
      path = written.path;
      name = `${title} - ${RECIPE_FILE_TITLES[written.key]}${FORMAT_EXTENSIONS[format]}`;
    }
    files.push({ stem, path, name, bytes: (await stat(path)).size });
  }
  const durationS = stereoDuration(audio);
  const processingS = Object.values(result.timings).reduce((sum, s) => sum + (s ?? 0), 0);
  const modelSteps = (['music', 'vocals', 'vocals_srs'] as const).filter((step) => step in result.timings);
  return {
    files,
    picture: outputs.picture,
    stats: {
      durationS,
      processingS,
      realTimeFactor: durationS > 0 ? processingS / durationS : 0,
      engine: options.engine.engine,
      device: options.engine.device,
      preset: preset.name,
      cacheHits: [...result.cacheHits],
      files: files.map(({ stem, name, bytes }) => ({ stem, name, bytes })),
    },
    cacheLookups: options.cache === noCache ? 0 : modelSteps.length,
  };
}

function fetchOptionsOf(options: SeparationWorkerOptions, signal?: AbortSignal): FetchSourceOptions {
  return {
    resolvers: options.adapters.resolvers,
    maxInputBytes: options.limits.maxInputBytes,
    downloadTimeoutMs: options.limits.downloadTimeoutMs,
    allowPrivateUrls: options.allowPrivateUrls,
    signal,
  };
}

function mixStepsOf(options: SeparationWorkerOptions, signal?: AbortSignal): MixSteps {
  return { tools: options.tools, limits: options.limits, fetch: fetchOptionsOf(options, signal), signal };
}

/**
 * Answers the job's own request and every request attached to it, each once (delivery records), then closes the
 * job's request list; a request attached meanwhile is answered in the next round. Returns how many were answered
 * by this attempt or an earlier one.
 */
async function answerAll(
  options: SeparationWorkerOptions,
  jobId: string,
  first: SeparationRequest,
  answer: (deliverer: Deliverer, request: SeparationRequest) => Promise<void>,
): Promise<number> {
  const { context, adapters, logger } = options;
  const answerOne = async (request: SeparationRequest) => {
    if (await wasDelivered(context, jobId, request.requestId)) return;
    const deliverer = adapters.deliverers.get(request.replyTo.platform);
    if (!deliverer) {
      logger.error(
        { jobId, platform: request.replyTo.platform },
        'no deliverer for this platform; answer dropped',
      );
    } else {
      await answer(deliverer, request);
    }
    // Recorded after the answer went out: a worker killed between the two would answer again on retry. That
    // window is one API call wide; recording first would instead risk never answering.
    await recordDelivery(context, jobId, request.requestId);
    await releaseQuota(context, request.requester, request.requestId);
    await removeOpenRequest(context, request.requester, request.requestId);
  };
  await answerOne(first);
  let answered = 0;
  for (;;) {
    const attached = await attachedRequests(context, jobId);
    for (const request of attached.slice(answered)) await answerOne(request);
    answered = attached.length;
    if (await closeRequests(context, jobId, answered)) return answered + 1;
  }
}

/** Seconds the job waited in the queue before this attempt started. */
function waitSeconds(job: Job): number {
  return ((job.processedOn ?? job.timestamp) - job.timestamp) / 1000;
}
