/**
 * Load run (issue 4; a script, not a test): 50 jobs from 10 users through 2 `stembot worker` processes on the
 * real Redis, model-free engine, songs served over local HTTP, answers into an outbox.
 * Users behave like chat users: each has 5 songs and sends 3 at once; a refusal (in-flight limit 2) makes them
 * wait for an answer and send again. Checks: no job lost, no answer twice, the per-user limit held.
 * Prints JSON: counts, p50/p95 wait (enqueue → start) and turnaround, seconds.
 *
 *   node --import tsx bench/loadRun.ts [--users 10] [--songs-per-user 5] [--workers 2] [--seconds-per-song 8]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Job, QueueEvents } from 'bullmq';

import { seededRandom } from '../src/fixtures/seededRandom.js';
import { encodeWav } from '../src/pipeline/audio/wav.js';
import { SEPARATE_QUEUE, type SeparateJobData } from '../src/queue/jobSchema.js';
import { OUTBOX_PLATFORM } from '../src/queue/outbox/outboxDeliverer.js';
import { SeparationProducer } from '../src/queue/producer.js';
import { connectRedis } from '../src/queue/queueContext.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10' },
    'songs-per-user': { type: 'string', default: '5' },
    workers: { type: 'string', default: '2' },
    'seconds-per-song': { type: 'string', default: '8' },
  },
});
const USERS = Number(values.users);
const SONGS_PER_USER = Number(values['songs-per-user']);
const WORKERS = Number(values.workers);
const SONG_S = Number(values['seconds-per-song']);
const MAX_IN_FLIGHT = 2;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BIN = fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url));

/** A short two-part song (a tone with harmonics over noise bursts), different per seed. */
function song(seed: number): Uint8Array {
  const random = seededRandom(seed);
  const n = SONG_S * 44100;
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  const f0 = 180 + 200 * random.next();
  for (let i = 0; i < n; i++) {
    const t = i / 44100;
    const voice = 0.2 * Math.sin(2 * Math.PI * f0 * t) + 0.1 * Math.sin(4 * Math.PI * f0 * t);
    const burst = i % 22050 < 2000 ? 0.3 * (random.next() - 0.5) : 0;
    left[i] = voice + burst;
    right[i] = voice - burst;
  }
  return encodeWav({ left, right }, 'f32');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stembot-load-'));
  const outbox = join(dir, 'outbox');
  const prefix = `stembot-load-${process.pid}`;
  const songs = new Map<string, Uint8Array>();
  for (let u = 0; u < USERS; u++)
    for (let s = 0; s < SONGS_PER_USER; s++) songs.set(`/u${u}-s${s}.wav`, song(1000 * u + s));
  const server = createServer((request, response) => {
    const body = songs.get(request.url ?? '');
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const workers: ChildProcess[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'worker'], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        REDIS_URL,
        STEMBOT_QUEUE_PREFIX: prefix,
        STEMBOT_ENGINE: 'repet',
        STEMBOT_OUTBOX_DIR: outbox,
        STEMBOT_ALLOW_PRIVATE_URLS: '1',
        STEMBOT_CACHE_DIR: join(dir, 'cache'),
        STEMBOT_WORK_DIR: join(dir, `work-${w}`),
        STEMBOT_HTTP_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    workers.push(child);
  }

  const redis = connectRedis(REDIS_URL);
  const eventsConnection = connectRedis(REDIS_URL);
  const producer = new SeparationProducer({
    context: { redis, prefix },
    limits: { maxInFlight: MAX_IN_FLIGHT, maxPerDay: 1000, staleAfterS: 3600 },
  });
  const events = new QueueEvents(SEPARATE_QUEUE, { connection: eventsConnection, prefix });
  await events.waitUntilReady();

  const finished = new Map<string, () => void>();
  const onDone = ({ jobId }: { jobId: string }) => finished.get(jobId)?.();
  events.on('completed', onDone);
  events.on('failed', onDone);

  const started = performance.now();
  const accepted: { user: number; jobId: string; requestId: string }[] = [];
  let refusals = 0;
  let maxInFlightSeen = 0;
  const inFlight = new Array<number>(USERS).fill(0);

  const runUser = async (user: number) => {
    const waiting: Promise<void>[] = [];
    const send = async (s: number) => {
      for (;;) {
        const outcome = await producer.submit({
          source: { kind: 'url', url: `${base}/u${user}-s${s}.wav`, identity: `u${user}-s${s}` },
          settings: { preset: 'fast', format: 'mp3', stems: ['vocals', 'music'] },
          requester: { platform: OUTBOX_PLATFORM, userId: `user-${user}`, isAdmin: false },
          replyTo: { platform: OUTBOX_PLATFORM, chatId: `chat-${user}` },
        });
        if (outcome.status === 'refused') {
          refusals++;
          // like a user: wait for an answer, then send again (the accepted sends racing this one may not have
          // registered their answer yet: then just wait a moment)
          await (waiting.length ? Promise.race(waiting) : new Promise((resolve) => setTimeout(resolve, 200)));
          continue;
        }
        inFlight[user]++;
        maxInFlightSeen = Math.max(maxInFlightSeen, inFlight[user]);
        accepted.push({ user, jobId: outcome.jobId, requestId: outcome.requestId });
        const done = new Promise<void>((resolve) => finished.set(outcome.jobId, resolve)).then(() => {
          inFlight[user]--;
          waiting.splice(waiting.indexOf(done), 1);
        });
        waiting.push(done);
        return;
      }
    };
    // three at once, then one by one
    await Promise.all([0, 1, 2].filter((s) => s < SONGS_PER_USER).map(send));
    for (let s = 3; s < SONGS_PER_USER; s++) await send(s);
    await Promise.all(waiting);
  };
  await Promise.all(Array.from({ length: USERS }, (_, user) => runUser(user)));
  const seconds = (performance.now() - started) / 1000;

  const waits: number[] = [];
  const turnarounds: number[] = [];
  let failed = 0;
  for (const { jobId } of accepted) {
    const job = await Job.fromId<SeparateJobData>(producer.queue, jobId);
    if (!job) continue;
    if (job.failedReason) failed++;
    if (job.processedOn) waits.push((job.processedOn - job.timestamp) / 1000);
    if (job.finishedOn) turnarounds.push((job.finishedOn - job.timestamp) / 1000);
  }
  waits.sort((a, b) => a - b);
  turnarounds.sort((a, b) => a - b);
  const log = (await readFile(join(outbox, 'deliveries.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const answers = new Map<string, number>();
  for (const line of log) {
    const { requestId } = JSON.parse(line) as { requestId: string };
    answers.set(requestId, (answers.get(requestId) ?? 0) + 1);
  }
  const lost = accepted.filter((a) => !answers.has(a.requestId)).length;
  const twice = [...answers.values()].filter((count) => count > 1).length;

  console.log(
    JSON.stringify(
      {
        users: USERS,
        workers: WORKERS,
        songSeconds: SONG_S,
        jobsAccepted: accepted.length,
        quotaRefusals: refusals,
        maxInFlightPerUser: maxInFlightSeen,
        inFlightLimit: MAX_IN_FLIGHT,
        failed,
        lost,
        deliveredTwice: twice,
        waitS: { p50: percentile(waits, 50), p95: percentile(waits, 95), max: waits.at(-1) },
        turnaroundS: { p50: percentile(turnarounds, 50), p95: percentile(turnarounds, 95) },
        totalSeconds: seconds,
        jobsPerMinute: (accepted.length / seconds) * 60,
      },
      null,
      2,
    ),
  );

  await events.close();
  await eventsConnection.quit();
  await producer.queue.obliterate({ force: true });
  await producer.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  for (const worker of workers) worker.kill('SIGTERM');
  server.close();
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
  await rm(dir, { recursive: true, force: true });
  process.exitCode = lost || twice || maxInFlightSeen > MAX_IN_FLIGHT ? 1 : 0;
}

await main();
