import { type QueueContext, stembotKey } from './queueContext.js';
import type { Requester } from './jobSchema.js';

/** Per-user limits, checked before a job is enqueued (issue 4 item 5). Admins are exempt. */
export interface QuotaLimits {
  /** requests of one user waiting or running at once */
  readonly maxInFlight: number;
  /** requests of one user per UTC day */
  readonly maxPerDay: number;
  /** an in-flight entry older than this is dropped (a crashed path that never released it), seconds */
  readonly staleAfterS: number;
}

export type QuotaDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'in-flight' | 'daily'; readonly limit: number };

// KEYS: in-flight zset, day counter. ARGV: now ms, stale-before ms, maxInFlight, maxPerDay, requestId, day ttl s.
// One script, so two requests racing for the last slot cannot both get it.
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[4]) then return -2 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return 1
`;

function keys(context: QueueContext, requester: Requester, now: number): [string, string] {
  const user = `${requester.platform}:${requester.userId}`;
  const day = new Date(now).toISOString().slice(0, 10);
  return [stembotKey(context, 'quota', 'inflight', user), stembotKey(context, 'quota', 'day', user, day)];
}

/**
 * The limits the environment sets. An in-flight entry lives at most 6 h: longer than any job waits and runs, so
 * only a request whose answer path crashed is dropped by it.
 */
export function quotaLimitsOf(env: {
  readonly STEMBOT_MAX_JOBS_IN_FLIGHT: number;
  readonly STEMBOT_MAX_JOBS_PER_DAY: number;
}): QuotaLimits {
  return {
    maxInFlight: env.STEMBOT_MAX_JOBS_IN_FLIGHT,
    maxPerDay: env.STEMBOT_MAX_JOBS_PER_DAY,
    staleAfterS: 6 * 3600,
  };
}

/** Reserves one slot for `requestId`, or says which limit refused it. */
export async function reserveQuota(
  context: QueueContext,
  requester: Requester,
  requestId: string,
  limits: QuotaLimits,
  now = Date.now(),
): Promise<QuotaDecision> {
  if (requester.isAdmin) return { ok: true };
  const [inFlightKey, dayKey] = keys(context, requester, now);
  const result = (await context.redis.eval(
    RESERVE,
    2,
    inFlightKey,
    dayKey,
    now,
    now - limits.staleAfterS * 1000,
    limits.maxInFlight,
    limits.maxPerDay,
    requestId,
    2 * 86400,
  )) as number;
  if (result === -1) return { ok: false, reason: 'in-flight', limit: limits.maxInFlight };
  if (result === -2) return { ok: false, reason: 'daily', limit: limits.maxPerDay };
  return { ok: true };
}

/** Frees the in-flight slot of a request once it was answered (result or failure). The daily count stays. */
export async function releaseQuota(
  context: QueueContext,
  requester: Requester,
  requestId: string,
): Promise<void> {
  if (requester.isAdmin) return;
  const [inFlightKey] = keys(context, requester, Date.now());
  await context.redis.zrem(inFlightKey, requestId);
}

/** A user-facing sentence for a refusal. */
export function quotaRefusalMessage(decision: Extract<QuotaDecision, { ok: false }>): string {
  return decision.reason === 'in-flight'
    ? `You already have ${decision.limit} song${decision.limit === 1 ? '' : 's'} in progress; send the next one when it is done.`
    : `You have reached today's limit of ${decision.limit} songs; it resets at midnight UTC.`;
}
