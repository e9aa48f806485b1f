import type { Redis } from 'ioredis';

import { type QueueContext, stembotKey } from './queueContext.js';

/**
 * BullMQ can abort a running job only in the process that runs it (`worker.cancelJob`), so a cancel from a bot
 * travels over Redis pub/sub to every worker; the one running the job aborts it (BullMQ "cancelling jobs on
 * other workers").
 */
export function cancelChannel(prefix: string): string {
  return stembotKey({ prefix }, 'cancel');
}

export async function publishCancel(context: QueueContext, jobId: string): Promise<void> {
  await context.redis.publish(cancelChannel(context.prefix), jobId);
}

/**
 * Subscribes `subscriber` (a connection of its own: subscribed connections take no other commands) and calls
 * `onCancel` with each job id. Returns a function that unsubscribes.
 */
export async function listenForCancels(
  subscriber: Redis,
  prefix: string,
  onCancel: (jobId: string) => void,
): Promise<() => Promise<void>> {
  const channel = cancelChannel(prefix);
  const onMessage = (from: string, jobId: string) => {
    if (from === channel) onCancel(jobId);
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', onMessage);
    await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
