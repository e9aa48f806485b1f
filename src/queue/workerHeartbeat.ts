import { type QueueContext, stembotKey } from './queueContext.js';

/**
 * Worker heartbeats (issue 4 item 6): every worker keeps a short-lived hash at `…:stembot:worker:<workerId>` and its
 * id in the `…:stembot:workers` sorted set (score: last beat, ms). The hash expires ~3 beats after the last one, so
 * a SIGKILLed worker disappears on its own; readers drop set members whose hash is gone.
 */

/** What does not change while a worker runs. */
export interface WorkerIdentity {
  /** unique per process, e.g. `${hostname}:${pid}:${random}` */
  readonly workerId: string;
  readonly hostname: string;
  readonly pid: number;
  /** e.g. `cuda`, `cpu` */
  readonly device: string;
  /** e.g. `onnx`, `repet` */
  readonly engine: string;
  /** model names of the two extractors */
  readonly models: { readonly music: string; readonly vocals: string };
  /** the stembot version this worker runs */
  readonly version: string;
}

/** What changes; read at every beat. */
export interface WorkerState {
  /** the job being processed now, or null when idle */
  readonly currentJobId: string | null;
  /** jobs this process completed since it started */
  readonly completed: number;
  /** jobs this process saw fail for good since it started */
  readonly failed: number;
  /** size of the worker's step cache folder, bytes (measured by the worker, which may run on another host) */
  readonly cacheDirBytes?: number;
  /** free space on the cache folder's file system, bytes */
  readonly diskFreeBytes?: number;
}

export interface HeartbeatOptions {
  /** ms between beats; default 10 000 */
  readonly intervalMs?: number;
  /** ms the hash lives after a beat; default 3 × intervalMs */
  readonly ttlMs?: number;
  /** a beat that could not be written (Redis down): reported here, never thrown */
  readonly onError?: (error: unknown) => void;
}

export interface Heartbeat {
  /** Stops beating and deletes this worker's entry at once (a clean shutdown need not wait for the TTL). */
  stop(): Promise<void>;
  /** Writes a beat now (e.g. when a job starts, so `currentJobId` shows at once). Never rejects: see `onError`. */
  beatNow(): Promise<void>;
}

/** A worker as its last heartbeat described it: its identity and state, unknown disk figures as null. */
export interface WorkerInfo extends WorkerIdentity, Omit<WorkerState, 'cacheDirBytes' | 'diskFreeBytes'> {
  readonly cacheDirBytes: number | null;
  readonly diskFreeBytes: number | null;
  /** when this process started its heartbeat, ms since the epoch */
  readonly startedAt: number;
  /** seconds since the last beat, as seen at `now` */
  readonly lastSeenS: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

function workerKey(context: QueueContext, workerId: string): string {
  return stembotKey(context, 'worker', workerId);
}

function workersKey(context: QueueContext): string {
  return stembotKey(context, 'workers');
}

/** Starts beating at once, then every `intervalMs`. The timer is unref'ed: it never keeps the process alive. */
export function startHeartbeat(
  context: QueueContext,
  identity: WorkerIdentity,
  state: () => WorkerState,
  options: HeartbeatOptions = {},
): Heartbeat {
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const ttlMs = options.ttlMs ?? 3 * intervalMs;
  const onError = options.onError ?? (() => undefined);
  const key = workerKey(context, identity.workerId);
  const startedAt = Date.now();
  let stopped = false;
  // Beats run one after another, so stop() can wait for the last one before deleting the key it would recreate.
  let chain: Promise<void> = Promise.resolve();

  const write = async (): Promise<void> => {
    if (stopped) return;
    const now = Date.now();
    const current = state();
    const fields: Record<string, string | number> = {
      workerId: identity.workerId,
      hostname: identity.hostname,
      pid: identity.pid,
      device: identity.device,
      engine: identity.engine,
      modelMusic: identity.models.music,
      modelVocals: identity.models.vocals,
      version: identity.version,
      currentJobId: current.currentJobId ?? '',
      completed: current.completed,
      failed: current.failed,
      cacheDirBytes: current.cacheDirBytes ?? '',
      diskFreeBytes: current.diskFreeBytes ?? '',
      startedAt,
      lastSeen: now,
    };
    await context.redis
      .multi()
      .hset(key, fields)
      .pexpire(key, ttlMs)
      .zadd(workersKey(context), now, identity.workerId)
      .exec();
  };

  const beatNow = (): Promise<void> => {
    chain = chain.then(write).catch((error: unknown) => {
      try {
        onError(error);
      } catch {
        // a throwing logger must not turn into an unhandled rejection
      }
    });
    return chain;
  };

  const timer = setInterval(() => void beatNow(), intervalMs);
  timer.unref();
  void beatNow();

  return {
    beatNow,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await chain;
      await context.redis.multi().del(key).zrem(workersKey(context), identity.workerId).exec();
    },
  };
}

/**
 * The workers whose heartbeat has not expired, by worker id. Ids left in the set by workers that died (their hash
 * expired) are removed here, so the set stays as small as the fleet.
 */
export async function listWorkers(context: QueueContext, now = Date.now()): Promise<WorkerInfo[]> {
  const ids = await context.redis.zrange(workersKey(context), '0', '-1');
  if (ids.length === 0) return [];
  const pipeline = context.redis.pipeline();
  for (const id of ids) pipeline.hgetall(workerKey(context, id));
  const replies = (await pipeline.exec()) ?? [];
  const workers: WorkerInfo[] = [];
  const gone: string[] = [];
  ids.forEach((id, index) => {
    const [error, hash] = replies[index] ?? [null, {}];
    if (error) throw error;
    const fields = hash as Record<string, string>;
    if (!fields.lastSeen) gone.push(id);
    else workers.push(parseWorker(id, fields, now));
  });
  // ZREM only ids that still have no hash: a worker may have beaten again between our read and now.
  for (const id of gone) {
    await context.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 0 then return redis.call('ZREM', KEYS[2], ARGV[1]) end return 0",
      2,
      workerKey(context, id),
      workersKey(context),
      id,
    );
  }
  return workers.sort((a, b) => a.workerId.localeCompare(b.workerId));
}

function parseWorker(workerId: string, fields: Record<string, string>, now: number): WorkerInfo {
  const count = (value: string | undefined) => (value ? Number(value) : 0);
  const optional = (value: string | undefined) => (value ? Number(value) : null);
  return {
    workerId,
    hostname: fields.hostname ?? '',
    pid: count(fields.pid),
    device: fields.device ?? '',
    engine: fields.engine ?? '',
    models: { music: fields.modelMusic ?? '', vocals: fields.modelVocals ?? '' },
    version: fields.version ?? '',
    currentJobId: fields.currentJobId || null,
    completed: count(fields.completed),
    failed: count(fields.failed),
    cacheDirBytes: optional(fields.cacheDirBytes),
    diskFreeBytes: optional(fields.diskFreeBytes),
    startedAt: count(fields.startedAt),
    lastSeenS: Math.max(0, (now - count(fields.lastSeen)) / 1000),
  };
}
