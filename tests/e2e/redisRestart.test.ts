/**
 * Redis restarting under a producer and a `stembot worker`: a Redis of the test's own (redis-server on a free port,
 * AOF with fsync on every write, as production runs it with appendonly) is killed and started again. Producers
 * and workers reconnect by themselves and no queued job is lost.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Redis } from 'ioredis';

import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { OUTBOX_PLATFORM } from '../../src/queue/outbox/outboxDeliverer.js';
import { SeparationProducer } from '../../src/queue/producer.js';
import { connectRedis } from '../../src/queue/queueContext.js';
import { type CliProcess, startCli } from '../support/cli.js';
import { testSong } from '../support/signals.js';

let dir: string;
let port: number;
let redisServer: ChildProcess | undefined;
let songServer: Server;
let songUrl: string;
let redis: Redis;
let producer: SeparationProducer;
let worker: CliProcess;
const prefix = 'stembot-restart-test';

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

async function startRedis(): Promise<void> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child.stdout!.resume();
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  redisServer = child;
}

async function killRedis(): Promise<void> {
  const child = redisServer!;
  child.kill('SIGKILL'); // a crash, not a shutdown
  await new Promise((resolve) => child.once('exit', resolve));
  redisServer = undefined;
}

async function stateOf(jobId: string, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = await (await producer.queue.getJob(jobId))?.getState();
    if (state === 'completed' || state === 'failed' || Date.now() > until) return state ?? 'missing';
    await sleep(200);
  }
}

async function answers(): Promise<string[]> {
  const text = await readFile(join(dir, 'outbox', 'deliveries.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { requestId: string }).requestId);
}

function submit(userId: string) {
  return producer.submit({
    source: { kind: 'url', url: songUrl, identity: `${songUrl}#${userId}` },
    settings: { preset: 'fast', stems: ['vocals'], format: 'flac' },
    requester: { platform: OUTBOX_PLATFORM, userId, isAdmin: false },
    replyTo: { platform: OUTBOX_PLATFORM, chatId: userId },
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-restart-'));
  port = await freePort();
  await startRedis();
  const song = encodeWav(testSong(3 * 44100, 8), 'f32');
  songServer = createServer((_request, response) => {
    response.writeHead(200, { 'content-length': song.length }).end(song);
  });
  await new Promise<void>((resolve) => songServer.listen(0, '127.0.0.1', resolve));
  songUrl = `http://127.0.0.1:${(songServer.address() as AddressInfo).port}/song.wav`;
  const url = `redis://127.0.0.1:${port}`;
  redis = connectRedis(url);
  redis.on('error', () => undefined); // the outage is the point of the test: ioredis would print every refusal
  producer = new SeparationProducer({
    context: { redis, prefix },
    limits: { maxInFlight: 5, maxPerDay: 100, staleAfterS: 3600 },
  });
  producer.queue.on('error', () => undefined);
  worker = startCli(['worker'], {
    REDIS_URL: url,
    STEMBOT_QUEUE_PREFIX: prefix,
    STEMBOT_ENGINE: 'repet',
    STEMBOT_OUTBOX_DIR: join(dir, 'outbox'),
    STEMBOT_ALLOW_PRIVATE_URLS: '1',
    STEMBOT_CACHE_DIR: join(dir, 'cache'),
    STEMBOT_WORK_DIR: join(dir, 'work'),
    STEMBOT_HTTP_PORT: '0',
  });
  await worker.waitFor('worker ready');
});

after(async () => {
  worker?.child.kill('SIGKILL');
  await worker?.exited;
  await producer?.close().catch(() => undefined);
  redis?.disconnect();
  if (redisServer) await killRedis();
  songServer?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Redis restarting', () => {
  it('producer and worker reconnect; a job queued while Redis was down and one queued before both complete', async () => {
    const first = await submit('ann');
    assert.equal(first.status, 'queued');
    assert.equal(await stateOf(first.jobId), 'completed');

    // stop the worker from taking the next job before the crash, so it is queued across the restart
    await producer.queue.pause();
    const queuedBefore = await submit('ben');
    assert.equal(queuedBefore.status, 'queued');
    await killRedis();
    // submitted while Redis is down: the command waits for the reconnection instead of failing
    const duringOutage = submit('cid');
    await sleep(1500);
    await startRedis();
    const second = await duringOutage;
    assert.equal(second.status, 'queued');
    await producer.queue.resume();

    assert.equal(await stateOf(queuedBefore.jobId), 'completed', 'the job queued before the crash survived');
    assert.equal(await stateOf(second.jobId), 'completed');
    assert.deepEqual(
      (await answers()).sort(),
      [first.requestId, queuedBefore.requestId, second.requestId].sort(),
      'every request answered once',
    );
    assert.equal(worker.child.exitCode, null, 'the worker kept running');
  });
});
