import { parseArgs } from 'node:util';

import { Queue } from 'bullmq';

import { cacheDirOf, loadQueueEnv } from '../config/env.js';
import { adminStats, formatAdminStats } from '../queue/adminStats.js';
import { SEPARATE_QUEUE } from '../queue/jobSchema.js';
import { connectRedis } from '../queue/queueContext.js';

export const STATS_USAGE = `Usage: stembot stats [--json]

The queue by state, the last hour and day (done, failed, mean wait, real-time factor), workers online with their
device and models, cache hit rate and disk use, versions: what an admin's /stats shows.`;

export async function statsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(STATS_USAGE);
    return 0;
  }
  const env = loadQueueEnv();
  // a command should fail, not wait forever, when Redis is down
  const redis = connectRedis(env.REDIS_URL, { maxRetriesPerRequest: 3, retryStrategy: () => null });
  const queue = new Queue(SEPARATE_QUEUE, { connection: redis, prefix: env.STEMBOT_QUEUE_PREFIX });
  try {
    const stats = await adminStats({ redis, prefix: env.STEMBOT_QUEUE_PREFIX }, queue, {
      cacheDir: cacheDirOf(env),
    });
    console.log(values.json ? JSON.stringify(stats, null, 2) : formatAdminStats(stats));
    return 0;
  } finally {
    await queue.close();
    await redis.quit().catch(() => undefined);
  }
}
