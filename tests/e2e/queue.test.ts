/**
 * The queue end to end against the real Redis (REDIS_URL, default 127.0.0.1:6379), under a key prefix of its own:
 * real `stembot worker` processes running the real pipeline (model-free engine), songs served over local HTTP,
 * answers written by the outbox platform, whose log shows every answer that went out.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';

import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { SEPARATE_QUEUE } from '../../src/queue/jobSchema.js';
import { OUTBOX_PLATFORM } from '../../src/queue/outbox/outboxDeliverer.js';
import { SeparationProducer } from '../../src/queue/producer.js';
import { type JobProgress, subscribeToJobs } from '../../src/queue/progress.js';
import { connectRedis } from '../../src/queue/queueContext.js';
import { type CliProcess, runCli, startCli } from '../support/cli.js';
import { testSong } from '../support/signals.js';
import { dropTestKeys, TEST_REDIS_URL, testPrefix } from '../support/testRedis.js';

const REDIS_URL = TEST_REDIS_URL;
const prefix = testPrefix('queue');

let dir: string;
let outbox: string;
let server: Server;
let baseUrl: string;
let redis: Redis;
let producer: SeparationProducer;
let events: QueueEvents;
let eventsConnection: Redis;
const workers: CliProcess[] = [];

/** Songs by path; each request to a path is counted. */
const songs = new Map<string, Uint8Array>();
const hits = new Map<string, number>();

function startWorker(extraEnv: NodeJS.ProcessEnv = {}): CliProcess {
  const worker = startCli(['worker'], {
    REDIS_URL,
    STEMBOT_QUEUE_PREFIX: prefix,
    STEMBOT_ENGINE: 'repet',
    STEMBOT_OUTBOX_DIR: outbox,
    STEMBOT_ALLOW_PRIVATE_URLS: '1',
    STEMBOT_CACHE_DIR: join(dir, 'cache'),
    STEMBOT_WORK_DIR: join(dir, `work-${workers.length}`),
    // short locks so a killed worker's job is taken over within seconds
    STEMBOT_LOCK_MS: '4000',
    STEMBOT_STALLED_INTERVAL_MS: '1000',
    STEMBOT_HTTP_PORT: '0',
    ...extraEnv,
  });
  workers.push(worker);
  return worker;
}

async function deliveries(): Promise<{ kind: string; jobId?: string; requestId: string; reason?: string }[]> {
  const text = await readFile(join(outbox, 'deliveries.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

function requester(userId: string, isAdmin = false) {
  return {
    requester: { platform: OUTBOX_PLATFORM, userId, isAdmin },
    replyTo: { platform: OUTBOX_PLATFORM, chatId: `chat-${userId}` },
  };
}

function source(path: string) {
  const url = `${baseUrl}${path}`;
  return { kind: 'url' as const, url, identity: url };
}

/** Resolves with the job's outcome as QueueEvents reports it. */
function outcome(jobId: string, timeoutMs = 90_000): Promise<'completed' | `failed: ${string}`> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`job ${jobId} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = subscribeToJobs(events, {
      onCompleted: (id) => {
        if (id !== jobId) return;
        clearTimeout(timer);
        stop();
        resolve('completed');
      },
      onFailed: (id, reason) => {
        if (id !== jobId) return;
        clearTimeout(timer);
        stop();
        resolve(`failed: ${reason}`);
      },
    });
  });
}

/** Stops every worker started so far and waits until they are gone. */
async function stopWorkers(signal: NodeJS.Signals): Promise<void> {
  for (const worker of workers) worker.child.kill(signal);
  await Promise.all(workers.map((worker) => worker.exited));
}

/** Resolves when a worker reports that the job reached `stage`. */
function reachedStage(jobId: string, stage: JobProgress['stage']): Promise<void> {
  return new Promise((resolve) => {
    const stop = subscribeToJobs(events, {
      onProgress: (id, progress) => {
        if (id === jobId && progress.stage === stage) {
          stop();
          resolve();
        }
      },
    });
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-queue-'));
  outbox = join(dir, 'outbox');
  songs.set('/short.wav', encodeWav(testSong(4 * 44100, 3), 'f32'));
  songs.set('/other.wav', encodeWav(testSong(3 * 44100, 4), 'f32'));
  songs.set('/long.wav', encodeWav(testSong(120 * 44100, 5), 'f32'));
  songs.set('/medium.wav', encodeWav(testSong(60 * 44100, 6), 'f32'));
  songs.set('/garbage.mp3', new TextEncoder().encode('this is not audio at all '.repeat(100)));
  server = createServer((request, response) => {
    const path = request.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = songs.get(path);
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  redis = connectRedis(REDIS_URL);
  producer = new SeparationProducer({
    context: { redis, prefix },
    limits: { maxInFlight: 1, maxPerDay: 100, staleAfterS: 3600 },
  });
  eventsConnection = connectRedis(REDIS_URL);
  events = new QueueEvents(SEPARATE_QUEUE, { connection: eventsConnection, prefix });
  await events.waitUntilReady();
});

after(async () => {
  await stopWorkers('SIGKILL');
  await events?.close();
  await eventsConnection?.quit();
  await dropTestKeys(redis, prefix, producer.queue);
  server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the separate queue with real workers and Redis', () => {
  it("a job's whole life: queued, progress, separated, answered once with the stems and the picture", async () => {
    const worker = startWorker();
    await worker.waitFor('worker ready');
    const seen: JobProgress[] = [];
    const stop = subscribeToJobs(events, { onProgress: (_id, progress) => seen.push(progress) });
    const queued = await producer.submit({
      source: source('/short.wav'),
      settings: { preset: 'fast', format: 'mp3' },
      ...requester('alice'),
    });
    assert.equal(queued.status, 'queued');
    assert.ok(queued.status === 'queued' && queued.position >= 0, 'position reported');
    assert.equal(await outcome(queued.jobId), 'completed');
    stop();

    const answers = await deliveries();
    assert.deepEqual(
      answers.map((a) => [a.kind, a.jobId, a.requestId]),
      [['result', queued.jobId, queued.requestId]],
    );
    const folder = join(outbox, 'chat-alice', queued.requestId);
    assert.deepEqual((await readdir(folder)).sort(), [
      'result.json',
      'short - Bleeding_in_Music.mp3',
      'short - Music.mp3',
      'short - Vocals.mp3',
      'spectrogram.png',
    ]);
    const result = JSON.parse(await readFile(join(folder, 'result.json'), 'utf8'));
    assert.equal(result.engine, 'repet');
    assert.ok(Math.abs(result.durationS - 4) < 0.01, `duration ${result.durationS}`);
    const stages = [...new Set(seen.map((p) => p.stage))];
    assert.deepEqual(stages, ['download', 'decode', 'separate', 'encode', 'deliver']);
    assert.ok(
      seen.every((p, i) => i === 0 || p.pct >= seen[i - 1].pct),
      `progress never goes back: ${seen.map((p) => p.pct.toFixed(0)).join(' ')}`,
    );
    // the worker's status endpoints
    const status = /"status":"(http:[^"]+)"/.exec(worker.stderr())?.[1];
    assert.ok(status, 'the worker logs its status URL');
    assert.equal((await fetch(`${status}/healthz`)).status, 200);
    assert.equal((await fetch(`${status}/readyz`)).status, 200);
    const metricsText = await (await fetch(`${status}/metrics`)).text();
    assert.match(metricsText, /stembot_jobs_total\{[^}]*outcome="completed"[^}]*\} 1/);
    assert.match(metricsText, /bullmq_job_count/);

    // what an admin sees
    const statsRun = await runCli(['stats', '--json'], { REDIS_URL, STEMBOT_QUEUE_PREFIX: prefix });
    assert.equal(statsRun.code, 0, statsRun.stderr);
    const stats = JSON.parse(statsRun.stdout);
    assert.equal(stats.lastHour.completed, 1);
    assert.equal(stats.lastHour.failed, 0);
    assert.equal(stats.workers.length, 1);
    assert.equal(stats.workers[0].device, 'cpu (model-free)');
    assert.equal(stats.workers[0].completed, 1);
    assert.ok(stats.lastHour.meanRealTimeFactor > 0, `real-time factor ${stats.lastHour.meanRealTimeFactor}`);

    // the in-flight slot was released: alice may send again
    const again = await producer.submit({ source: source('/other.wav'), ...requester('alice') });
    assert.notEqual(again.status, 'refused');
    assert.ok(again.status !== 'refused', 'quota released');
    assert.equal(await outcome(again.jobId), 'completed');
  });

  it('duplicate submissions collapse into one job and every requester is answered', async () => {
    // no worker is free while we submit: the first job waits, so the duplicate finds it
    await producer.queue.pause();
    const before = (await deliveries()).length;
    const hitsBefore = hits.get('/other.wav') ?? 0;
    const first = await producer.submit({ source: source('/other.wav'), ...requester('bob') });
    const second = await producer.submit({ source: source('/other.wav'), ...requester('carol') });
    assert.equal(first.status, 'queued');
    assert.equal(second.status, 'attached');
    assert.equal(second.jobId, first.jobId);
    await producer.queue.resume();
    assert.equal(await outcome(first.jobId), 'completed');
    const answers = (await deliveries()).slice(before);
    assert.deepEqual(answers.map((a) => a.requestId).sort(), [first.requestId, second.requestId].sort());
    assert.ok(
      answers.every((a) => a.kind === 'result' && a.jobId === first.jobId),
      'both answered by the one job',
    );
    assert.equal((hits.get('/other.wav') ?? 0) - hitsBefore, 1, 'the song was downloaded once');
  });

  it('quota: a second song while one is in flight is refused before enqueueing; admins are exempt', async () => {
    await producer.queue.pause();
    const first = await producer.submit({
      source: source('/short.wav'),
      settings: { preset: 'balanced' },
      ...requester('dave'),
    });
    assert.equal(first.status, 'queued');
    const counts = await producer.queue.getJobCounts('waiting');
    const refused = await producer.submit({
      source: source('/other.wav'),
      settings: { preset: 'balanced' },
      ...requester('dave'),
    });
    assert.equal(refused.status, 'refused');
    assert.match(refused.status === 'refused' ? refused.reason : '', /already have 1 song in progress/);
    assert.deepEqual(await producer.queue.getJobCounts('waiting'), counts, 'nothing was enqueued');
    const admin = await producer.submit({
      source: source('/other.wav'),
      settings: { preset: 'balanced' },
      ...requester('dave', true),
    });
    const admin2 = await producer.submit({
      source: source('/long.wav'),
      settings: { preset: 'balanced' },
      ...requester('dave', true),
    });
    assert.equal(admin.status, 'queued');
    assert.equal(admin2.status, 'queued');
    // clean up: these jobs are not needed
    for (const outcomeOf of [first, admin, admin2]) {
      await (await producer.queue.getJob(outcomeOf.jobId))?.remove();
    }
    await producer.queue.resume();
  });

  it('bad input fails at once, without retries, and the user is told why', async () => {
    const before = (await deliveries()).length;
    const submitted = await producer.submit({ source: source('/garbage.mp3'), ...requester('erin') });
    assert.equal(submitted.status, 'queued');
    const result = await outcome(submitted.jobId);
    assert.match(result, /^failed: /);
    const job = await producer.queue.getJob(submitted.jobId);
    assert.equal(job?.attemptsMade, 1, 'one attempt only');
    const answers = (await deliveries()).slice(before);
    assert.equal(answers.length, 1);
    assert.equal(answers[0].kind, 'failed');
    assert.match(answers[0].reason ?? '', /audio|decode|read/i);
  });

  it('stembot submit --wait queues a link, shows the status lines and prints the result', async () => {
    const run = await runCli(
      [
        'submit',
        `${baseUrl}/other.wav`,
        '--preset',
        'fast',
        '--stems',
        'vocals',
        '--user',
        'ivan',
        '--wait',
        '--json',
      ],
      { REDIS_URL, STEMBOT_QUEUE_PREFIX: prefix },
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.status, 'queued');
    assert.equal(report.result.engine, 'repet');
    assert.deepEqual(
      report.result.files.map((file: { stem: string }) => file.stem),
      ['vocals'],
    );
    assert.match(run.stderr, /Separating… \d+ %/);
    const refused = await runCli(['submit', 'ftp://example.org/song.mp3'], {
      REDIS_URL,
      STEMBOT_QUEUE_PREFIX: prefix,
    });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /submit takes one http\(s\) link/);
  });

  it('a worker killed mid-job (SIGKILL): another worker finishes it and the answer goes out once', async () => {
    await stopWorkers('SIGTERM');
    const victim = startWorker();
    await victim.waitFor('worker ready');
    const before = (await deliveries()).length;
    const submitted = await producer.submit({ source: source('/long.wav'), ...requester('frank') });
    assert.ok(submitted.status === 'queued', 'queued');
    await reachedStage(submitted.jobId, 'separate');
    victim.child.kill('SIGKILL');
    assert.equal(await victim.exited, 'SIGKILL');
    const rescuer = startWorker();
    await rescuer.waitFor('worker ready');
    assert.equal(await outcome(submitted.jobId, 120_000), 'completed');
    const answers = (await deliveries()).slice(before).filter((a) => a.requestId === submitted.requestId);
    assert.equal(answers.length, 1, `answers: ${JSON.stringify(answers)}`);
    assert.equal(answers[0].kind, 'result');
    assert.ok((hits.get('/long.wav') ?? 0) >= 2, 'the second worker fetched the song again');
  });

  it('a job whose workers keep dying fails for good and its user is told once', async () => {
    await stopWorkers('SIGKILL');
    const noRetakes = { STEMBOT_MAX_STALLED_COUNT: '0' };
    const victim = startWorker(noRetakes);
    await victim.waitFor('worker ready');
    const before = (await deliveries()).length;
    const submitted = await producer.submit({
      source: source('/long.wav'),
      settings: { preset: 'fast' },
      ...requester('judy'),
    });
    assert.equal(submitted.status, 'queued');
    await reachedStage(submitted.jobId, 'separate');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const watcher = startWorker(noRetakes);
    await watcher.waitFor('worker ready');
    assert.match(await outcome(submitted.jobId), /stalled more than allowable limit/);
    const until = Date.now() + 10_000;
    let answers = (await deliveries()).slice(before);
    while (answers.length === 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answers = (await deliveries()).slice(before);
    }
    assert.deepEqual(
      answers.map((a) => [a.kind, a.requestId]),
      [['failed', submitted.requestId]],
    );
    assert.match(answers[0].reason ?? '', /interrupted several times/);
  });

  it('SIGTERM mid-job: the worker takes no new job, finishes the running one, answers once and exits 0', async () => {
    await stopWorkers('SIGKILL');
    const worker = startWorker();
    await worker.waitFor('worker ready');
    const before = (await deliveries()).length;
    const running = await producer.submit({ source: source('/medium.wav'), ...requester('grace') });
    assert.equal(running.status, 'queued');
    await reachedStage(running.jobId, 'separate');
    worker.child.kill('SIGTERM');
    const next = await producer.submit({ source: source('/short.wav'), ...requester('heidi') });
    assert.equal(next.status, 'queued');
    assert.equal(await outcome(running.jobId), 'completed');
    assert.equal(await worker.exited, 0);
    const answers = (await deliveries()).slice(before);
    assert.deepEqual(
      answers.map((a) => a.requestId),
      [running.requestId],
      'the running job answered once; the next one was left in the queue',
    );
    assert.equal(await (await producer.queue.getJob(next.jobId))?.getState(), 'waiting');
  });
});
