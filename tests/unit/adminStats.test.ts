/**
 * Admin stats against the real Redis (REDIS_URL, default 127.0.0.1:6379) under a key prefix of its own: worker
 * heartbeats, recorded job outcomes, queue counts of a real BullMQ queue, disk and versions.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { adminStats, formatAdminStats } from '../../src/queue/adminStats.js';
import { dirSize } from '../../src/queue/dirSize.js';
import { recordJobOutcome, summarizeJobOutcomes } from '../../src/queue/jobOutcomes.js';
import { type QueueContext, connectRedis, stembotKey } from '../../src/queue/queueContext.js';
import { listWorkers, startHeartbeat, type WorkerIdentity } from '../../src/queue/workerHeartbeat.js';
import { dropTestKeys, TEST_REDIS_URL, testPrefix } from '../support/testRedis.js';

const REDIS_URL = TEST_REDIS_URL;
const prefix = testPrefix('stats');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let redis: Redis;
let context: QueueContext;
let queue: Queue;
let dir: string;

function identity(workerId: string): WorkerIdentity {
  return {
    workerId,
    hostname: `host-${workerId}`,
    pid: 4242,
    device: 'cuda',
    engine: 'onnx',
    models: { music: 'inst-hq-3', vocals: 'kim-vocal-2' },
    version: '0.1.0',
  };
}

before(async () => {
  redis = connectRedis(REDIS_URL);
  context = { redis, prefix };
  queue = new Queue('separate', { connection: redis, prefix });
  dir = await mkdtemp(join(tmpdir(), 'stembot-stats-'));
});

after(async () => {
  await dropTestKeys(redis, prefix, queue);
  await rm(dir, { recursive: true, force: true });
});

describe('worker heartbeats', () => {
  it('a beat shows the worker with its fields; stop() removes it at once', async () => {
    let currentJobId: string | null = null;
    const heartbeat = startHeartbeat(
      context,
      identity('w1'),
      () => ({ currentJobId, completed: 3, failed: 1, cacheDirBytes: 1234 }),
      { intervalMs: 200 },
    );
    currentJobId = '42';
    await heartbeat.beatNow();
    const ttl = await redis.pttl(stembotKey(context, 'worker', 'w1'));
    assert.ok(ttl > 0 && ttl <= 600, `the heartbeat key expires within 3 intervals (pttl ${ttl})`);
    const [worker] = await listWorkers(context);
    assert.ok(worker, 'the worker is listed');
    assert.equal(worker.workerId, 'w1');
    assert.equal(worker.hostname, 'host-w1');
    assert.equal(worker.pid, 4242);
    assert.equal(worker.device, 'cuda');
    assert.equal(worker.engine, 'onnx');
    assert.deepEqual(worker.models, { music: 'inst-hq-3', vocals: 'kim-vocal-2' });
    assert.equal(worker.version, '0.1.0');
    assert.equal(worker.currentJobId, '42');
    assert.equal(worker.completed, 3);
    assert.equal(worker.failed, 1);
    assert.equal(worker.cacheDirBytes, 1234);
    assert.equal(worker.diskFreeBytes, null);
    assert.ok(worker.lastSeenS >= 0 && worker.lastSeenS < 1, `seen just now (${worker.lastSeenS} s)`);

    currentJobId = null;
    await heartbeat.beatNow();
    assert.equal((await listWorkers(context))[0]?.currentJobId, null, 'idle after the job');

    await heartbeat.stop();
    assert.equal(await redis.exists(stembotKey(context, 'worker', 'w1')), 0, 'key deleted');
    assert.equal(await redis.zscore(stembotKey(context, 'workers'), 'w1'), null, 'set member removed');
    assert.deepEqual(await listWorkers(context), []);
  });

  it('a worker that stops beating (killed) disappears after the TTL and is pruned from the set', async () => {
    // Its own connection, cut to play a SIGKILLed process: the beats then fail (reported, not thrown).
    const doomed = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise<void>((resolve) => doomed.once('ready', () => resolve()));
    const errors: unknown[] = [];
    const heartbeat = startHeartbeat(
      { redis: doomed, prefix },
      identity('w2'),
      () => ({ currentJobId: null, completed: 0, failed: 0 }),
      { intervalMs: 200, onError: (error) => errors.push(error) },
    );
    await heartbeat.beatNow();
    assert.equal((await listWorkers(context)).length, 1, 'listed while beating');
    await sleep(300);
    assert.equal((await listWorkers(context)).length, 1, 'still listed after more beats');
    doomed.disconnect();
    await sleep(900);
    assert.ok(errors.length > 0, 'beats after the cut were reported to onError');
    assert.equal(await redis.exists(stembotKey(context, 'worker', 'w2')), 0, 'the key expired');
    assert.deepEqual(await listWorkers(context), []);
    assert.equal(await redis.zscore(stembotKey(context, 'workers'), 'w2'), null, 'pruned from the set');
    await heartbeat.stop().catch(() => undefined);
  });
});

describe('job outcomes and admin stats', () => {
  const now = Date.now();

  it('counts and means over the last hour and day', async () => {
    const waits = [1, 2, 3];
    const rtfs = [0.1, 0.2, 0.3];
    for (let index = 0; index < 3; index++) {
      await recordJobOutcome(
        context,
        {
          outcome: 'completed',
          finishedAt: now - (index + 1) * 10 * MINUTE,
          waitS: waits[index]!,
          durationS: 100,
          processingS: rtfs[index]! * 100,
          cacheHits: index === 0 ? 4 : 0,
          cacheLookups: 4,
        },
        { now },
      );
    }
    await recordJobOutcome(
      context,
      { outcome: 'completed', finishedAt: now - 5 * HOUR, waitS: 10, durationS: 100, processingS: 100 },
      { now },
    );
    await recordJobOutcome(context, { outcome: 'failed', finishedAt: now - 2 * HOUR, waitS: 14 }, { now });
    await recordJobOutcome(
      context,
      { outcome: 'completed', finishedAt: now - 30 * HOUR, waitS: 1000, durationS: 1, processingS: 50 },
      { now },
    );
    assert.equal(
      await redis.zcard(stembotKey(context, 'outcomes')),
      5,
      'the 30 h old outcome was trimmed on write',
    );
    const ttl = await redis.pttl(stembotKey(context, 'outcomes'));
    assert.ok(ttl > 23 * HOUR && ttl <= 24 * HOUR, `outcomes expire within a day of the last write (${ttl})`);

    const summary = await summarizeJobOutcomes(context, now);
    assert.equal(summary.lastHour.completed, 3);
    assert.equal(summary.lastHour.failed, 0);
    assert.ok(
      Math.abs(summary.lastHour.meanWaitS! - 2) < 1e-9,
      `mean wait 2 s (${summary.lastHour.meanWaitS})`,
    );
    assert.ok(
      Math.abs(summary.lastHour.meanRealTimeFactor! - 0.2) < 1e-9,
      `mean RTF 0.2 (${summary.lastHour.meanRealTimeFactor})`,
    );
    assert.equal(summary.lastDay.completed, 4);
    assert.equal(summary.lastDay.failed, 1);
    // waits 1, 2, 3, 10 (completed) and 14 (failed) → 30 / 5
    assert.ok(
      Math.abs(summary.lastDay.meanWaitS! - 6) < 1e-9,
      `day mean wait 6 s (${summary.lastDay.meanWaitS})`,
    );
    // RTF 0.1, 0.2, 0.3, 1.0 → 1.6 / 4; the failed job has none
    assert.ok(
      Math.abs(summary.lastDay.meanRealTimeFactor! - 0.4) < 1e-9,
      `day mean RTF 0.4 (${summary.lastDay.meanRealTimeFactor})`,
    );
    // 4 hits of 12 lookups
    assert.ok(Math.abs(summary.cacheHitRate! - 1 / 3) < 1e-9, `cache hit rate 1/3 (${summary.cacheHitRate})`);

    const later = await summarizeJobOutcomes(context, now + 23 * HOUR);
    assert.equal(later.lastHour.completed, 0);
    assert.equal(later.lastHour.meanWaitS, null);
    assert.equal(later.lastHour.meanRealTimeFactor, null);
    assert.equal(later.lastDay.completed, 3, 'the 5 h old job has left the day window');
  });

  it('dirSize sums nested files exactly and reads a missing folder as 0', async () => {
    const cache = join(dir, 'cache');
    await mkdir(join(cache, 'nested', 'deeper'), { recursive: true });
    await writeFile(join(cache, 'a.f32'), new Uint8Array(1000));
    await writeFile(join(cache, 'nested', 'b.f32'), new Uint8Array(2345));
    await writeFile(join(cache, 'nested', 'deeper', 'c'), new Uint8Array(7));
    assert.equal(await dirSize(cache), 3352);
    assert.equal(await dirSize(join(dir, 'missing')), 0);
  });

  it('adminStats: queue counts of real jobs, outcomes, workers, disk, versions; formatted for chat', async () => {
    await queue.add('separate', { n: 1 });
    await queue.add('separate', { n: 2 });
    await queue.add('separate', { n: 3 }, { delay: HOUR });
    const heartbeat = startHeartbeat(
      context,
      identity('w3'),
      () => ({ currentJobId: '42', completed: 7, failed: 0 }),
      { intervalMs: 200 },
    );
    await heartbeat.beatNow();
    try {
      const stats = await adminStats(context, queue, { cacheDir: join(dir, 'cache'), now });
      assert.deepEqual(stats.queue, {
        waiting: 2,
        active: 0,
        delayed: 1,
        prioritized: 0,
        completed: 0,
        failed: 0,
        paused: false,
      });
      assert.equal(stats.lastHour.completed, 3);
      assert.equal(stats.lastDay.failed, 1);
      assert.equal(stats.workers.length, 1);
      assert.equal(stats.workers[0]?.currentJobId, '42');
      assert.equal(stats.disk.cacheDirBytes, 3352);
      assert.ok(
        typeof stats.disk.freeBytes === 'number' && stats.disk.freeBytes > 0,
        `free space measured (${stats.disk.freeBytes})`,
      );
      assert.ok(
        typeof stats.versions.redis === 'string' && stats.versions.redis.length > 0,
        'redis version read',
      );
      assert.equal(stats.versions.stembot, '0.1.0');
      assert.match(stats.versions.bullmq ?? '', /^\d+\.\d+\.\d+/);
      assert.equal(stats.versions.node, process.version);

      const text = formatAdminStats(stats);
      for (const expected of [
        'Queue: 2 waiting, 0 running, 1 delayed',
        'Last hour: 3 done, 0 failed, mean wait 2 s, RTF 0.2',
        'Last 24 h: 4 done, 1 failed, mean wait 6 s, RTF 0.4',
        'Workers (1):',
        'host-w3 cuda onnx inst-hq-3+kim-vocal-2, running job 42, 7 done',
        'Cache: 33 % hits, 3.4 kB,',
        `Versions: stembot 0.1.0, node ${process.version}, bullmq ${stats.versions.bullmq}, redis ${stats.versions.redis}`,
      ]) {
        assert.ok(text.includes(expected), `the summary shows "${expected}":\n${text}`);
      }
      assert.ok(!/[*_`]/.test(text.replace(/inst-hq-3|kim-vocal-2/g, '')), `no Markdown:\n${text}`);

      await queue.pause();
      const paused = await adminStats(context, queue, { cacheDir: join(dir, 'not-here'), now });
      assert.equal(paused.queue.paused, true);
      assert.equal(paused.queue.waiting, 2, 'waiting jobs still count while paused');
      assert.ok(formatAdminStats(paused).startsWith('Queue (PAUSED):'), 'paused shown');
      // no cache folder here: disk figures come from worker reports, and this worker reported none
      assert.deepEqual(paused.disk, { cacheDirBytes: null, freeBytes: null });
    } finally {
      await heartbeat.stop();
    }
  });
});
