/**
 * Queue position and ETA of waiting jobs against the real Redis (REDIS_URL, default 127.0.0.1:6379), under a key
 * prefix of its own: real BullMQ jobs, recorded outcomes and a heartbeat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

import { recordJobOutcome } from '../../src/queue/jobOutcomes.js';
import { connectRedis, type QueueContext } from '../../src/queue/queueContext.js';
import { estimateWaitS, queuedProgress, queuePosition } from '../../src/queue/queuePosition.js';
import { startHeartbeat } from '../../src/queue/workerHeartbeat.js';
import { dropTestKeys, TEST_REDIS_URL, testPrefix } from '../support/testRedis.js';

const prefix = testPrefix('position');
let redis: Redis;
let context: QueueContext;
let queue: Queue;

before(async () => {
  redis = connectRedis(TEST_REDIS_URL);
  context = { redis, prefix };
  queue = new Queue('separate', { connection: redis, prefix });
  await queue.pause(); // nothing runs: the jobs stay waiting
});

after(async () => {
  await dropTestKeys(redis, prefix, queue);
});

describe('estimateWaitS', () => {
  it('counts the jobs ahead and half of each running one, shared among the workers', () => {
    assert.equal(estimateWaitS(1, 30, 0, 1), 0);
    assert.equal(estimateWaitS(3, 30, 0, 1), 60);
    assert.equal(estimateWaitS(3, 30, 2, 1), 90);
    assert.equal(estimateWaitS(5, 30, 2, 2), 75);
    assert.equal(estimateWaitS(0, 30, 2, 2), 0, 'not waiting');
    assert.equal(estimateWaitS(2, 30, 0, 0), 30, 'no worker seen yet: as if one');
  });
});

describe('queuedProgress', () => {
  it('reports the place in the waiting list and an ETA from the moving averages', async () => {
    const jobs = [];
    for (let n = 0; n < 3; n++) jobs.push(await queue.add('separate', { n }));
    assert.deepEqual(
      await Promise.all(jobs.map((job) => queuePosition(queue, job.id!))),
      [1, 2, 3],
      'oldest first',
    );
    assert.equal(await queuePosition(queue, 'no-such-job'), 0);

    // no job has ended yet: no ETA
    assert.deepEqual(await queuedProgress(context, queue, jobs[2].id!), {
      stage: 'queued',
      pct: 0,
      queuePosition: 3,
      etaS: null,
    });

    // two finished jobs: mean audio 150 s, mean real-time factor 0.15 → 22.5 s per job; one worker online
    const now = Date.now();
    await recordJobOutcome(context, {
      outcome: 'completed',
      finishedAt: now,
      waitS: 1,
      durationS: 100,
      processingS: 10,
    });
    await recordJobOutcome(context, {
      outcome: 'completed',
      finishedAt: now,
      waitS: 1,
      durationS: 200,
      processingS: 40,
    });
    const heartbeat = startHeartbeat(
      context,
      {
        workerId: 'w1',
        hostname: 'h',
        pid: 1,
        device: 'cpu',
        engine: 'repet',
        models: { music: 'm', vocals: 'v' },
        version: 'test',
      },
      () => ({ currentJobId: null, completed: 2, failed: 0 }),
    );
    await heartbeat.beatNow();
    const third = await queuedProgress(context, queue, jobs[2].id!);
    assert.equal(third?.queuePosition, 3);
    assert.ok(Math.abs((third?.etaS ?? NaN) - 45) < 1e-9, `ETA (3 − 1) × 22.5 s = 45 s, got ${third?.etaS}`);
    await heartbeat.stop();

    await jobs[0].remove();
    assert.equal((await queuedProgress(context, queue, jobs[2].id!))?.queuePosition, 2, 'moves up');
    assert.equal(await queuedProgress(context, queue, jobs[0].id!), null, 'not waiting: no queued report');
  });
});
