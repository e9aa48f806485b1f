import { readFileSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Queue } from 'bullmq';

import { formatBytes } from '../format/formatBytes.js';
import { dirSize } from './dirSize.js';
import { type OutcomeWindow, summarizeJobOutcomes } from './jobOutcomes.js';
import type { QueueContext } from './queueContext.js';
import { listWorkers, type WorkerInfo } from './workerHeartbeat.js';

/** Everything an admin asks "how is it going?" about (issue 4 item 6). */
export interface AdminStats {
  /** when these figures were taken, ms since the epoch */
  readonly at: number;
  /** jobs in the `separate` queue now, by state (completed and failed: those BullMQ still keeps) */
  readonly queue: {
    readonly waiting: number;
    readonly active: number;
    readonly delayed: number;
    readonly prioritized: number;
    readonly completed: number;
    readonly failed: number;
    /** the queue is paused: workers take no new jobs */
    readonly paused: boolean;
  };
  /** jobs that ended in the last hour */
  readonly lastHour: OutcomeWindow;
  /** jobs that ended in the last 24 h */
  readonly lastDay: OutcomeWindow;
  /** step-cache hits / lookups over the last 24 h, 0…1; null when nothing was looked up */
  readonly cacheHitRate: number | null;
  /** workers whose heartbeat has not expired, by worker id */
  readonly workers: readonly WorkerInfo[];
  readonly disk: {
    /**
     * size of the step cache folder, bytes: measured here when `cacheDir` is given and exists, else the largest
     * figure a worker reported; null when neither is known
     */
    readonly cacheDirBytes: number | null;
    /** free space (for unprivileged users) on the cache folder's file system, bytes; same sources as above */
    readonly freeBytes: number | null;
  };
  readonly versions: {
    /** stembot's package.json version, as this process runs it */
    readonly stembot: string | null;
    /** `process.version`, e.g. `v20.19.0` */
    readonly node: string;
    readonly bullmq: string | null;
    /** `redis_version` from INFO server */
    readonly redis: string | null;
  };
}

export interface AdminStatsOptions {
  /** the step cache folder, measured when it exists here (same host or volume as the worker); else worker reports */
  readonly cacheDir?: string;
  /** ms since the epoch; tests pass it */
  readonly now?: number;
}

/** Gathers the figures; every Redis read is a handful of commands, the cache walk is the only slow part. */
export async function adminStats(
  context: QueueContext,
  queue: Queue,
  options: AdminStatsOptions = {},
): Promise<AdminStats> {
  const now = options.now ?? Date.now();
  const [counts, paused, outcomes, workers, redisVersion, localDisk] = await Promise.all([
    queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
    queue.isPaused(),
    summarizeJobOutcomes(context, now),
    listWorkers(context, now),
    readRedisVersion(context),
    localDiskOf(options.cacheDir),
  ]);
  const reported = (pick: (worker: WorkerInfo) => number | null): number | null =>
    workers.reduce<number | null>((best, worker) => {
      const value = pick(worker);
      return value === null ? best : Math.max(best ?? 0, value);
    }, null);
  return {
    at: now,
    queue: {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      prioritized: counts.prioritized ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      paused,
    },
    lastHour: outcomes.lastHour,
    lastDay: outcomes.lastDay,
    cacheHitRate: outcomes.cacheHitRate,
    workers,
    disk: localDisk ?? {
      cacheDirBytes: reported((worker) => worker.cacheDirBytes),
      freeBytes: reported((worker) => worker.diskFreeBytes),
    },
    versions: {
      stembot: stembotVersion(),
      node: process.version,
      bullmq: bullmqVersion(),
      redis: redisVersion,
    },
  };
}

/** Measured here only when the folder exists here: a bot or CLI host without the cache defers to the workers. */
async function localDiskOf(
  cacheDir: string | undefined,
): Promise<{ cacheDirBytes: number | null; freeBytes: number | null } | undefined> {
  if (cacheDir === undefined) return undefined;
  const info = await fsPromises.stat(cacheDir).catch(() => undefined);
  return info?.isDirectory() ? measureDisk(cacheDir) : undefined;
}

/** Size of `dir` and free space where it lives, bytes; each null when it cannot be measured. */
export async function measureDisk(
  dir: string,
): Promise<{ cacheDirBytes: number | null; freeBytes: number | null }> {
  const [cacheDirBytes, freeBytes] = await Promise.all([dirSize(dir).catch(() => null), freeSpace(dir)]);
  return { cacheDirBytes, freeBytes };
}

/** Free bytes on the file system holding `path` (or its nearest existing parent); null where statfs is missing. */
export async function freeSpace(path: string): Promise<number | null> {
  // fs.statfs arrived in Node 18.15 / 19.6; guard anyway so an odd runtime shows "unknown" instead of failing.
  const statfs = (fsPromises as Partial<typeof fsPromises>).statfs;
  if (typeof statfs !== 'function') return null;
  for (let current = path; ; current = dirname(current)) {
    try {
      const info = await statfs(current);
      return Number(info.bavail) * Number(info.bsize);
    } catch {
      if (dirname(current) === current) return null;
    }
  }
}

async function readRedisVersion(context: QueueContext): Promise<string | null> {
  try {
    const info = await context.redis.info('server');
    return /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() || null;
  } catch {
    return null;
  }
}

let cachedStembotVersion: string | null | undefined;

/** The version in stembot's own package.json, found by walking up from this file (works from src/ and dist/). */
export function stembotVersion(): string | null {
  if (cachedStembotVersion !== undefined) return cachedStembotVersion;
  cachedStembotVersion = null;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'stembot') {
        cachedStembotVersion = manifest.version ?? null;
        break;
      }
    } catch {
      // no package.json here: keep walking up
    }
    if (dirname(dir) === dir) break;
  }
  return cachedStembotVersion;
}

/** The installed bullmq's version (its package.json; bullmq declares no `exports`, so it can be required). */
export function bullmqVersion(): string | null {
  try {
    const manifest = createRequire(import.meta.url)('bullmq/package.json') as { version?: string };
    return manifest.version ?? null;
  } catch {
    return null;
  }
}

/**
 * A compact plain-text summary (no Markdown, so any chat shows it as is), one topic per line, e.g.
 *
 *     Queue: 2 waiting, 1 running, 1 delayed (kept: 5 completed, 0 failed)
 *     Last hour: 5 done, 0 failed, mean wait 12 s, RTF 0.05
 *     Last 24 h: 40 done, 1 failed, mean wait 30 s, RTF 0.06
 *     Workers (1):
 *     - host-1 cuda onnx inst-hq-3+kim-vocal-2, running job 42, 12 done, 0 failed, seen 3 s ago
 *     Cache: 83 % hits, 1.2 GB, 40 GB free
 *     Versions: stembot 0.1.0, node v20.19.0, bullmq 6.7.0, redis 7.0.15
 */
export function formatAdminStats(stats: AdminStats): string {
  const { queue } = stats;
  const queueParts = [`${queue.waiting} waiting`, `${queue.active} running`, `${queue.delayed} delayed`];
  if (queue.prioritized > 0) queueParts.push(`${queue.prioritized} prioritized`);
  const lines = [
    `Queue${queue.paused ? ' (PAUSED)' : ''}: ${queueParts.join(', ')} (kept: ${queue.completed} completed, ${queue.failed} failed)`,
    `Last hour: ${formatWindow(stats.lastHour)}`,
    `Last 24 h: ${formatWindow(stats.lastDay)}`,
  ];
  if (stats.workers.length === 0) {
    lines.push('Workers: none online');
  } else {
    lines.push(`Workers (${stats.workers.length}):`);
    for (const worker of stats.workers) {
      const models = `${worker.models.music}+${worker.models.vocals}`;
      const doing = worker.currentJobId ? `running job ${worker.currentJobId}` : 'idle';
      lines.push(
        `- ${worker.hostname} ${worker.device} ${worker.engine} ${models}, ${doing}, ` +
          `${worker.completed} done, ${worker.failed} failed, seen ${formatSeconds(worker.lastSeenS)} ago` +
          (worker.version && worker.version !== stats.versions.stembot ? ` (stembot ${worker.version})` : ''),
      );
    }
  }
  const cacheParts = [
    stats.cacheHitRate === null ? 'no lookups yet' : `${Math.round(stats.cacheHitRate * 100)} % hits`,
  ];
  if (stats.disk.cacheDirBytes !== null) cacheParts.push(formatBytes(stats.disk.cacheDirBytes));
  if (stats.disk.freeBytes !== null) cacheParts.push(`${formatBytes(stats.disk.freeBytes)} free`);
  lines.push(`Cache: ${cacheParts.join(', ')}`);
  const { versions } = stats;
  lines.push(
    `Versions: stembot ${versions.stembot ?? '?'}, node ${versions.node}, bullmq ${versions.bullmq ?? '?'}, ` +
      `redis ${versions.redis ?? '?'}`,
  );
  return lines.join('\n');
}

function formatWindow(window: OutcomeWindow): string {
  const parts = [`${window.completed} done`, `${window.failed} failed`];
  if (window.meanWaitS !== null) parts.push(`mean wait ${formatSeconds(window.meanWaitS)}`);
  if (window.meanRealTimeFactor !== null)
    parts.push(`RTF ${Number(window.meanRealTimeFactor.toPrecision(2))}`);
  return parts.join(', ');
}

/** 12 s, 4.5 min, 2.1 h */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number((seconds / 3600).toFixed(1))} h`;
}
