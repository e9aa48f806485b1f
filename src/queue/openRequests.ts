import { z } from 'zod';

import type { Requester } from './jobSchema.js';
import { type QueueContext, stembotKey } from './queueContext.js';

/**
 * Each user's requests not yet answered, so `/cancel` can find them: a Redis hash per user, requestId → where
 * it waits. Added by the producer, removed when the request is answered (worker) or cancelled.
 */
export interface OpenRequest {
  readonly requestId: string;
  readonly jobId: string;
  /** the chat the answer goes to: `/cancel` in a chat cancels that chat's requests */
  readonly chatId: string;
  /** when it was submitted, ms since the epoch */
  readonly at: number;
}

const openRequestSchema = z.object({
  requestId: z.string(),
  jobId: z.string(),
  chatId: z.string(),
  at: z.number(),
});

/** Longer than any job lives in the queue; an entry a crash left behind goes with the key. */
const TTL_S = 2 * 86400;

const openKey = (context: QueueContext, requester: Pick<Requester, 'platform' | 'userId'>) =>
  stembotKey(context, 'open', requester.platform, requester.userId);

export async function addOpenRequest(
  context: QueueContext,
  requester: Pick<Requester, 'platform' | 'userId'>,
  open: OpenRequest,
): Promise<void> {
  const key = openKey(context, requester);
  await context.redis.multi().hset(key, open.requestId, JSON.stringify(open)).expire(key, TTL_S).exec();
}

export async function removeOpenRequest(
  context: QueueContext,
  requester: Pick<Requester, 'platform' | 'userId'>,
  requestId: string,
): Promise<void> {
  await context.redis.hdel(openKey(context, requester), requestId);
}

/** The user's open requests, oldest first; entries that do not parse are skipped. */
export async function listOpenRequests(
  context: QueueContext,
  requester: Pick<Requester, 'platform' | 'userId'>,
): Promise<OpenRequest[]> {
  const entries = await context.redis.hvals(openKey(context, requester));
  const open: OpenRequest[] = [];
  for (const entry of entries) {
    try {
      const parsed = openRequestSchema.safeParse(JSON.parse(entry));
      if (parsed.success) open.push(parsed.data);
    } catch {
      // not JSON: written by something else; skip it
    }
  }
  return open.sort((a, b) => a.at - b.at);
}
