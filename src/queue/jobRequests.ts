import { type SeparationRequest, requestSchema } from './jobSchema.js';
import { type QueueContext, stembotKey } from './queueContext.js';

/**
 * The requests a job answers, and which of them were answered, in Redis (issue 4 items 4–5).
 * - A duplicate submission is attached to the running job instead of running again: `attachRequest` appends it,
 *   unless the job already closed its list (then the caller enqueues afresh, which the step cache makes cheap).
 * - Delivery records make the answer go out once per request, even when a killed worker's job runs again.
 */

/** Kept a week: long enough for any retry, short enough not to pile up. */
const TTL_S = 7 * 86400;

const requestsKey = (context: QueueContext, jobId: string) => stembotKey(context, 'job', jobId, 'requests');
const closedKey = (context: QueueContext, jobId: string) => stembotKey(context, 'job', jobId, 'closed');
const deliveredKey = (context: QueueContext, jobId: string) => stembotKey(context, 'job', jobId, 'delivered');

// KEYS: closed flag, requests list. ARGV: request JSON, ttl. Returns 0 when the job no longer takes requests.
const ATTACH = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
`;

// KEYS: closed flag, requests list. ARGV: how many requests the caller has answered, ttl.
// Closes only if no request arrived meanwhile; otherwise the caller answers the newcomers and tries again.
const CLOSE = `
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
return 1
`;

export async function attachRequest(
  context: QueueContext,
  jobId: string,
  request: SeparationRequest,
): Promise<boolean> {
  const result = await context.redis.eval(
    ATTACH,
    2,
    closedKey(context, jobId),
    requestsKey(context, jobId),
    JSON.stringify(request),
    TTL_S,
  );
  return result === 1;
}

/** The requests attached to a job so far, oldest first. */
export async function attachedRequests(context: QueueContext, jobId: string): Promise<SeparationRequest[]> {
  const raw = await context.redis.lrange(requestsKey(context, jobId), 0, -1);
  return raw.map((item) => requestSchema.parse(JSON.parse(item)));
}

/** Closes the job's request list if `answered` equals its length. */
export async function closeRequests(
  context: QueueContext,
  jobId: string,
  answered: number,
): Promise<boolean> {
  const result = await context.redis.eval(
    CLOSE,
    2,
    closedKey(context, jobId),
    requestsKey(context, jobId),
    answered,
    TTL_S,
  );
  return result === 1;
}

export async function wasDelivered(
  context: QueueContext,
  jobId: string,
  requestId: string,
): Promise<boolean> {
  return (await context.redis.hexists(deliveredKey(context, jobId), requestId)) === 1;
}

/**
 * Marks a request as cancelled, which answers it for good: no attempt will deliver to it. False when it was
 * already answered (delivered, failed or cancelled before).
 */
export async function markCancelled(
  context: QueueContext,
  jobId: string,
  requestId: string,
): Promise<boolean> {
  return markAnswered(context, jobId, requestId, `cancelled:${Date.now()}`);
}

/** Records an answered request; false if it was already recorded (another attempt answered it first). */
export async function recordDelivery(
  context: QueueContext,
  jobId: string,
  requestId: string,
): Promise<boolean> {
  return markAnswered(context, jobId, requestId, String(Date.now()));
}

/** The one write of the delivery record: first writer wins. */
async function markAnswered(
  context: QueueContext,
  jobId: string,
  requestId: string,
  how: string,
): Promise<boolean> {
  const key = deliveredKey(context, jobId);
  const [[, created]] = (await context.redis
    .multi()
    .hsetnx(key, requestId, how)
    .expire(key, TTL_S)
    .exec()) as [[Error | null, number], [Error | null, number]];
  return created === 1;
}
