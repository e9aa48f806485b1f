import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Queue, QueueEvents } from 'bullmq';
import type { Logger } from 'pino';

import { type BotEnv, cacheDirOf, loadBotEnv, secretsOf } from '../config/env.js';
import { createStembotMetrics } from '../http/metrics.js';
import { startStatusServer } from '../http/statusServer.js';
import { createLogger } from '../log.js';
import { printedHelp } from './args.js';
import { locateFfmpeg } from '../pipeline/audio/ffmpeg.js';
import { FileStepCache } from '../pipeline/cache/stepCache.js';
import { InferenceThread } from '../pipeline/mdx/inferenceClient.js';
import { chooseEngine } from '../pipeline/separators/chooseEngine.js';
import { measureDisk, stembotVersion } from '../queue/adminStats.js';
import { DiscordDeliverer } from '../bots/discord/discordDeliverer.js';
import { createDiscordRest } from '../bots/discord/discordRest.js';
import { discordSourceResolver } from '../bots/discord/discordSource.js';
import { DISCORD_PLATFORM } from '../bots/discord/discordTarget.js';
import { TelegramDeliverer } from '../bots/telegram/telegramDeliverer.js';
import { createTelegramApi, telegramConnection, telegramLimits } from '../bots/telegram/telegramApi.js';
import { telegramSourceResolver } from '../bots/telegram/telegramSource.js';
import { TELEGRAM_PLATFORM } from '../bots/telegram/telegramTarget.js';
import { DownloadShelf } from '../http/downloadShelf.js';
import { listenForCancels } from '../queue/cancelRelay.js';
import type { Deliverer, SourceResolver } from '../queue/delivery.js';
import { OUTBOX_PLATFORM, outboxDeliverer } from '../queue/outbox/outboxDeliverer.js';
import { SEPARATE_QUEUE } from '../queue/jobSchema.js';
import { connectRedis, logRedisOutages } from '../queue/queueContext.js';
import {
  CANCELLED,
  type SeparationWorkerOptions,
  startSeparationWorker,
  watchStalledFailures,
} from '../queue/separationWorker.js';
import { startHeartbeat, type WorkerState } from '../queue/workerHeartbeat.js';
import { cpuQuota } from '../system/cpuQuota.js';

export const WORKER_USAGE = `Usage: stembot worker

Takes separation jobs from the "separate" queue in Redis (REDIS_URL) one at a time: downloads the song, runs the
KaraFan recipe (models stay loaded between jobs), encodes, and answers every request attached to the job.
SIGTERM/SIGINT: stop taking jobs, let the running one finish (up to STEMBOT_SHUTDOWN_GRACE_S), else hand it back.
Answers go to the platforms registered in this process; STEMBOT_OUTBOX_DIR adds the "outbox" platform (files).`;

export async function workerCommand(argv: string[]): Promise<number> {
  if (printedHelp(argv, WORKER_USAGE)) return 0;
  const env = loadBotEnv();
  const logger = createLogger(env.LOG_LEVEL, { secrets: secretsOf(env) });
  const runtime = await startWorkerRuntime(env, logger);
  return stopOnSignal(logger, () => runtime.stop());
}

/** Resolves with 0 once `stop` has finished after the first SIGTERM or SIGINT (1 if it threw). */
export function stopOnSignal(logger: Logger, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((done) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      const finish = (code: number) => {
        // A connection still retrying (Redis down) would keep the process alive after everything closed.
        setTimeout(() => process.exit(code), 2000).unref();
        done(code);
      };
      void stop().then(
        () => finish(0),
        (error: unknown) => {
          logger.error({ err: String(error) }, 'unclean stop');
          finish(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}

export interface Runtime {
  /** stops taking work, finishes (or hands back) what runs, closes every connection */
  stop(): Promise<void>;
}

/**
 * One worker in this process: the engine (models loaded once), the BullMQ worker, the platforms it answers
 * on (Telegram when TELEGRAM_BOT_TOKEN is set, Discord when DISCORD_TOKEN is, the outbox when STEMBOT_OUTBOX_DIR
 * is), heartbeats, the cancel
 * relay and the status server with signed downloads.
 */
export async function startWorkerRuntime(env: BotEnv, logger: Logger): Promise<Runtime> {
  const engine = await chooseEngine({
    engine: env.STEMBOT_ENGINE,
    modelsDir: env.STEMBOT_MODELS_DIR,
    startThread: () =>
      new InferenceThread({ device: env.STEMBOT_DEVICE, threads: env.STEMBOT_THREADS || cpuQuota() }),
  });
  if (engine.notice) logger.warn(engine.notice);

  const tools = locateFfmpeg();
  const workDir = resolve(env.STEMBOT_WORK_DIR ?? join(tmpdir(), `stembot-work-${process.pid}`));
  await mkdir(workDir, { recursive: true });
  const shelf =
    env.STEMBOT_PUBLIC_URL && env.STEMBOT_LINK_SECRET
      ? new DownloadShelf({
          root: resolve(env.STEMBOT_DOWNLOADS_DIR ?? join(tmpdir(), 'stembot-downloads')),
          secret: env.STEMBOT_LINK_SECRET,
          publicUrl: env.STEMBOT_PUBLIC_URL,
        })
      : null;
  if (shelf) await mkdir(shelf.root, { recursive: true });
  const deliverers = new Map<string, Deliverer>();
  const resolvers = new Map<string, SourceResolver>();
  if (env.STEMBOT_OUTBOX_DIR)
    deliverers.set(OUTBOX_PLATFORM, outboxDeliverer(resolve(env.STEMBOT_OUTBOX_DIR)));
  if (env.TELEGRAM_BOT_TOKEN) {
    const connection = telegramConnection(env, env.TELEGRAM_BOT_TOKEN);
    const api = createTelegramApi(connection);
    const limits = telegramLimits(connection);
    deliverers.set(TELEGRAM_PLATFORM, new TelegramDeliverer({ api, limits, tools, shelf, workDir, logger }));
    resolvers.set(TELEGRAM_PLATFORM, telegramSourceResolver(api, connection));
  }
  if (env.DISCORD_TOKEN) {
    const rest = createDiscordRest({ apiUrl: env.DISCORD_API_URL, token: env.DISCORD_TOKEN });
    deliverers.set(DISCORD_PLATFORM, new DiscordDeliverer({ rest, tools, shelf, workDir, logger }));
    resolvers.set(DISCORD_PLATFORM, discordSourceResolver(rest));
  }

  const redis = connectRedis(env.REDIS_URL);
  const connection = connectRedis(env.REDIS_URL);
  logRedisOutages(logger, [redis, connection]);
  const metrics = createStembotMetrics({ defaultLabels: { role: 'worker', device: engine.device } });
  const queue = new Queue(SEPARATE_QUEUE, { connection: redis, prefix: env.STEMBOT_QUEUE_PREFIX });
  const workerOptions: SeparationWorkerOptions = {
    context: { redis, prefix: env.STEMBOT_QUEUE_PREFIX },
    connection,
    engine,
    cache: new FileStepCache(cacheDirOf(env), env.STEMBOT_CACHE_MAX_MB * 1024 * 1024),
    tools,
    adapters: { deliverers, resolvers },
    workDir,
    limits: {
      maxDurationS: env.STEMBOT_MAX_DURATION_S,
      maxChannels: env.STEMBOT_MAX_CHANNELS,
      maxInputBytes: env.STEMBOT_MAX_INPUT_MB * 1024 * 1024,
      downloadTimeoutMs: env.STEMBOT_DOWNLOAD_TIMEOUT_S * 1000,
    },
    allowPrivateUrls: env.STEMBOT_ALLOW_PRIVATE_URLS,
    logger,
    lockDurationMs: env.STEMBOT_LOCK_MS,
    stalledIntervalMs: env.STEMBOT_STALLED_INTERVAL_MS,
    maxStalledCount: env.STEMBOT_MAX_STALLED_COUNT,
    metrics,
  };
  const worker = startSeparationWorker(workerOptions);
  // its own blocking connection; tells the users of jobs that failed because their workers kept dying
  const eventsConnection = connectRedis(env.REDIS_URL);
  logRedisOutages(logger, [], [eventsConnection]); // outages are logged once by the two connections above
  const events = new QueueEvents(SEPARATE_QUEUE, {
    connection: eventsConnection,
    prefix: env.STEMBOT_QUEUE_PREFIX,
  });
  watchStalledFailures(workerOptions, queue, events);
  // A cancel from a bot reaches the worker running the job over pub/sub (a connection of its own).
  const cancelConnection = connectRedis(env.REDIS_URL);
  cancelConnection.on('error', () => undefined);
  const stopCancels = await listenForCancels(cancelConnection, env.STEMBOT_QUEUE_PREFIX, (jobId) => {
    if (worker.cancelJob(jobId, CANCELLED)) logger.info({ jobId }, 'cancelling the running job');
  });
  const sweep = () =>
    void shelf
      ?.sweep()
      .then((removed) => removed && logger.info({ removed }, 'expired downloads removed'))
      .catch((error: unknown) => logger.warn({ err: String(error) }, 'download sweep failed'));
  sweep();
  const sweeper = setInterval(sweep, 3600_000);
  sweeper.unref();
  await events.waitUntilReady();
  await worker.waitUntilReady();
  const live: { -readonly [K in keyof WorkerState]: WorkerState[K] } = {
    currentJobId: null,
    completed: 0,
    failed: 0,
  };
  const refreshDisk = () =>
    measureDisk(cacheDirOf(env))
      .then((disk) => {
        live.cacheDirBytes = disk.cacheDirBytes ?? undefined;
        live.diskFreeBytes = disk.freeBytes ?? undefined;
      })
      .catch(() => undefined);
  await refreshDisk();
  const heartbeat = startHeartbeat(
    { redis, prefix: env.STEMBOT_QUEUE_PREFIX },
    {
      workerId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      hostname: hostname(),
      pid: process.pid,
      device: engine.device,
      engine: engine.engine,
      models: { music: engine.music.label, vocals: engine.vocals.label },
      version: stembotVersion() ?? 'unknown',
    },
    () => live,
    { onError: (error) => logger.warn({ err: String(error) }, 'heartbeat not written') },
  );
  worker.on('active', (job) => {
    live.currentJobId = job.id ?? null;
    void heartbeat.beatNow();
  });
  worker.on('completed', () => {
    live.completed++;
    live.currentJobId = null;
    void refreshDisk().then(() => heartbeat.beatNow());
  });
  worker.on('failed', (job) => {
    // finishedOn is set only when the job failed for good, not before a retry; a cancelled job did not fail
    if (job?.finishedOn && job.failedReason !== CANCELLED) live.failed++;
    live.currentJobId = null;
    void heartbeat.beatNow();
  });
  const status = await startStatusServer({
    port: env.STEMBOT_HTTP_PORT,
    // The engine and its models are loaded before the server starts (a failure ends the process), so being up
    // means they are; what can come and go is Redis.
    readiness: { redis: async () => (await redis.ping()) === 'PONG' },
    metrics: { registry: metrics.registry, extra: () => queue.exportPrometheusMetrics({ role: 'worker' }) },
    downloads: shelf ? { root: shelf.root, secret: env.STEMBOT_LINK_SECRET! } : undefined,
    logger,
  });
  logger.info(
    { engine: engine.engine, device: engine.device, platforms: [...deliverers.keys()], status: status.url },
    'worker ready',
  );

  return {
    async stop() {
      logger.info('worker stopping: no new jobs; waiting for the running one');
      // worker.close() waits for the active job with no limit (BullMQ graceful shutdown); past the grace period
      // we leave, and the job's lock expires so another worker takes it over.
      const grace = setTimeout(() => {
        logger.warn('grace period over: handing the running job back to the queue');
        process.exit(1); // the job's lock then expires and another worker takes it over
      }, env.STEMBOT_SHUTDOWN_GRACE_S * 1000);
      grace.unref();
      await worker.close();
      clearTimeout(grace);
      clearInterval(sweeper);
      await stopCancels();
      await heartbeat.stop().catch(() => undefined);
      await engine.thread?.close();
      await status.close();
      await events.close();
      await queue.close();
      await Promise.all([
        redis.quit(),
        connection.quit(),
        eventsConnection.quit(),
        cancelConnection.quit(),
      ]).catch(() => undefined);
    },
  };
}
