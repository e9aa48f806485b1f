import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** The real Redis the queue tests talk to (CI runs one on 6379). */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test run shares, so runs on one Redis never see each other's keys. */
export function testPrefix(name: string): string {
  return `stembot-test-${name}-${process.pid}-${Date.now()}`;
}

/** Removes everything a test left under `prefix` (the queue's jobs, our own keys) and closes the connections. */
export async function dropTestKeys(redis: Redis, prefix: string, queue?: Queue): Promise<void> {
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
}
