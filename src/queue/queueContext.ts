import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * What every queue module needs: one Redis connection for its own keys and the key prefix shared with BullMQ,
 * so tests (and several deployments on one Redis) stay apart.
 */
export interface QueueContext {
  readonly redis: Redis;
  /** BullMQ `prefix`; our own keys live under `${prefix}:stembot:` */
  readonly prefix: string;
}

/** A key of ours under the context's prefix. */
export function stembotKey(context: Pick<QueueContext, 'prefix'>, ...parts: string[]): string {
  return [context.prefix, 'stembot', ...parts].join(':');
}

/**
 * A connection as BullMQ wants it for workers and QueueEvents (blocking commands): `maxRetriesPerRequest: null`
 * so a Redis restart makes commands wait and reconnect instead of failing (BullMQ "going to production").
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    // Reconnect forever with a capped backoff: a restarting Redis must not take the process down.
    retryStrategy: (attempt) => Math.min(200 * attempt, 5000),
    ...options,
  });
}

/**
 * ioredis reconnects by itself; this says so once per outage ("unreachable", then "reachable again") instead of
 * printing every refused attempt. `quiet` connections (blocking ones beside these) only get their errors swallowed.
 */
export function logRedisOutages(
  logger: Logger,
  watched: readonly Redis[],
  quiet: readonly Redis[] = [],
): void {
  let down = false;
  for (const client of watched) {
    client.on('error', (error: Error) => {
      if (!down) logger.warn({ err: error.message }, 'Redis unreachable: reconnecting');
      down = true;
    });
    client.on('ready', () => {
      if (down) logger.info('Redis reachable again');
      down = false;
    });
  }
  for (const client of quiet) client.on('error', () => undefined);
}
