import { randomBytes } from 'node:crypto';

import { type QueueContext, stembotKey } from './queueContext.js';

/**
 * Finished jobs of the last 24 h, for the admin stats (issue 4 item 6).
 *
 * Why one sorted set of outcomes (score: finishedAt ms, member: a small JSON record) rather than per-minute buckets
 * or BullMQ's metrics: the queue runs one job per GPU at a time and each takes tens of seconds to minutes, so a day
 * holds at most a few thousand records (≈100 bytes each). Reading them all with one ZRANGEBYSCORE and aggregating in
 * the process is cheap, exact to the millisecond at the window edges, and gives any figure we may want later (means,
 * percentiles) without changing what is stored. BullMQ's per-minute metrics count jobs but know nothing of wait
 * times, real-time factors or cache hits.
 *
 * Bounded three ways: every write drops records older than 24 h (ZREMRANGEBYSCORE), keeps at most
 * {@link MAX_OUTCOMES} records (ZREMRANGEBYRANK, a guard against a runaway), and refreshes a 24 h TTL so an idle
 * deployment ends up with no key at all. The write is one MULTI, so readers never see a half-trimmed set.
 */

/** A job that ended for good: completed, or failed with no attempts left. */
export interface JobOutcome {
  readonly outcome: 'completed' | 'failed';
  /** when it ended, ms since the epoch (BullMQ `job.finishedOn`) */
  readonly finishedAt: number;
  /** seconds from enqueueing to the start of its last attempt (`(job.processedOn − job.timestamp) / 1000`) */
  readonly waitS: number;
  /** length of the song, seconds (completed jobs) */
  readonly durationS?: number;
  /** time spent separating, seconds (completed jobs) */
  readonly processingS?: number;
  /** step-cache lookups that hit, in this job */
  readonly cacheHits?: number;
  /** step-cache lookups made, in this job */
  readonly cacheLookups?: number;
}

/** Figures over one window of time. */
export interface OutcomeWindow {
  /** jobs completed in the window */
  readonly completed: number;
  /** jobs failed for good in the window (retried attempts are not counted) */
  readonly failed: number;
  /** mean wait in the queue of the jobs that ended in the window (completed or failed), seconds; null if none */
  readonly meanWaitS: number | null;
  /** mean of processingS / durationS over completed jobs (lower is faster; 0.1 = ten times real time); null if none */
  readonly meanRealTimeFactor: number | null;
  /** mean input duration of completed jobs, seconds; null if none */
  readonly meanAudioS: number | null;
}

export interface OutcomeSummary {
  /** jobs that ended in (now − 1 h, now] */
  readonly lastHour: OutcomeWindow;
  /** jobs that ended in (now − 24 h, now] */
  readonly lastDay: OutcomeWindow;
  /** step-cache hits / lookups over the last 24 h, 0…1; null when no lookup was recorded */
  readonly cacheHitRate: number | null;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** far above a day of GPU work; only there so a bug cannot grow the set without bound */
export const MAX_OUTCOMES = 100_000;

/** the record as stored; short names keep the members small */
interface StoredOutcome {
  /** random, so two identical outcomes stay two members */
  readonly id: string;
  readonly o: 'c' | 'f';
  readonly w: number;
  readonly d?: number;
  readonly p?: number;
  readonly h?: number;
  readonly l?: number;
}

function outcomesKey(context: QueueContext): string {
  return stembotKey(context, 'outcomes');
}

/** Records one finished job. `now` (ms) only decides what is old enough to drop; tests pass it. */
export async function recordJobOutcome(
  context: QueueContext,
  outcome: JobOutcome,
  options: { readonly now?: number } = {},
): Promise<void> {
  const now = options.now ?? Date.now();
  const stored: StoredOutcome = {
    id: randomBytes(6).toString('hex'),
    o: outcome.outcome === 'completed' ? 'c' : 'f',
    w: Math.max(0, outcome.waitS),
    d: outcome.durationS,
    p: outcome.processingS,
    h: outcome.cacheHits,
    l: outcome.cacheLookups,
  };
  const key = outcomesKey(context);
  await context.redis
    .multi()
    .zadd(key, outcome.finishedAt, JSON.stringify(stored))
    .zremrangebyscore(key, '-inf', now - DAY_MS)
    .zremrangebyrank(key, 0, -(MAX_OUTCOMES + 1))
    .pexpire(key, DAY_MS)
    .exec();
}

/** Last hour and last day figures at `now` (ms). Jobs stamped after `now` (clocks of other hosts) count as recent. */
export async function summarizeJobOutcomes(context: QueueContext, now = Date.now()): Promise<OutcomeSummary> {
  const raw = await context.redis.zrangebyscore(
    outcomesKey(context),
    `(${now - DAY_MS}`,
    '+inf',
    'WITHSCORES',
  );
  const hour = new WindowSums();
  const day = new WindowSums();
  let hits = 0;
  let lookups = 0;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const record = parse(raw[index]!);
    if (!record) continue;
    const finishedAt = Number(raw[index + 1]);
    day.add(record);
    if (finishedAt > now - HOUR_MS) hour.add(record);
    hits += record.h ?? 0;
    lookups += record.l ?? 0;
  }
  return {
    lastHour: hour.result(),
    lastDay: day.result(),
    cacheHitRate: lookups > 0 ? hits / lookups : null,
  };
}

class WindowSums {
  completed = 0;
  failed = 0;
  waitSum = 0;
  rtfSum = 0;
  rtfCount = 0;
  audioSum = 0;

  add(record: StoredOutcome): void {
    if (record.o === 'c') this.completed++;
    else this.failed++;
    this.waitSum += record.w;
    if (record.o === 'c' && record.p !== undefined && record.d !== undefined && record.d > 0) {
      this.rtfSum += record.p / record.d;
      this.rtfCount++;
      this.audioSum += record.d;
    }
  }

  result(): OutcomeWindow {
    const ended = this.completed + this.failed;
    return {
      completed: this.completed,
      failed: this.failed,
      meanWaitS: ended > 0 ? this.waitSum / ended : null,
      meanRealTimeFactor: this.rtfCount > 0 ? this.rtfSum / this.rtfCount : null,
      meanAudioS: this.rtfCount > 0 ? this.audioSum / this.rtfCount : null,
    };
  }
}

function parse(member: string): StoredOutcome | undefined {
  try {
    const value = JSON.parse(member) as StoredOutcome;
    return value && (value.o === 'c' || value.o === 'f') && typeof value.w === 'number' ? value : undefined;
  } catch {
    return undefined; // a foreign member: skip it rather than fail the whole summary
  }
}
