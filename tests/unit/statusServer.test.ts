import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { createStembotMetrics } from '../../src/http/metrics.js';
import {
  MAX_LINK_LIFETIME_S,
  nowSeconds,
  resolveDownloadPath,
  signDownload,
  verifyDownload,
} from '../../src/http/signedLinks.js';
import { contentDisposition, startStatusServer, type StatusServer } from '../../src/http/statusServer.js';

const SECRET = 'test-secret-0123456789abcdef';
const REDIS = { host: '127.0.0.1', port: 6379 };

/** GET/HEAD/... with the path sent byte for byte (fetch would normalise `..` and `%2e%2e` away). */
function rawRequest(
  base: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Log lines the server wrote, to prove signatures never reach them. */
function captureLogger(): { lines: string[]; logger: Parameters<typeof startStatusServer>[0]['logger'] } {
  const lines: string[] = [];
  const log = (obj: object, msg?: string) => lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, logger: { debug: log, info: log, warn: log } };
}

describe('signed download links', () => {
  const now = 1_700_000_000;

  it('round-trips and refuses tampering', () => {
    const path = signDownload({
      secret: SECRET,
      jobId: 'job-1',
      file: 'Vocals.flac',
      expiresAt: now + 3600,
      now,
    });
    const url = new URL(path, 'http://x');
    assert.equal(url.pathname, '/download/job-1/Vocals.flac');
    const params = { secret: SECRET, jobId: 'job-1', file: 'Vocals.flac', now };
    const exp = url.searchParams.get('exp');
    const sig = url.searchParams.get('sig');
    assert.deepEqual(verifyDownload({ ...params, exp, sig }), {
      ok: true,
      jobId: 'job-1',
      file: 'Vocals.flac',
      expiresAt: now + 3600,
    });
    assert.deepEqual(verifyDownload({ ...params, file: 'Music.flac', exp, sig }), {
      ok: false,
      reason: 'forbidden',
    });
    assert.deepEqual(verifyDownload({ ...params, exp: String(now + 7200), sig }), {
      ok: false,
      reason: 'forbidden',
    });
    assert.deepEqual(verifyDownload({ ...params, secret: SECRET + 'x', exp, sig }), {
      ok: false,
      reason: 'forbidden',
    });
    assert.deepEqual(verifyDownload({ ...params, exp, sig: null }), { ok: false, reason: 'forbidden' });
    assert.deepEqual(verifyDownload({ ...params, exp, sig, now: now + 3600 }), {
      ok: false,
      reason: 'expired',
    });
  });

  it('caps the lifetime at 24 h when signing and when verifying', () => {
    assert.equal(MAX_LINK_LIFETIME_S, 86_400);
    const base = { secret: SECRET, jobId: 'j', file: 'a.mp3', now };
    assert.ok(signDownload({ ...base, expiresAt: now + MAX_LINK_LIFETIME_S }), 'exactly 24 h is allowed');
    assert.throws(() => signDownload({ ...base, expiresAt: now + MAX_LINK_LIFETIME_S + 1 }), /at most 86400/);
    assert.throws(() => signDownload({ ...base, expiresAt: now }), /not in the future/);
    // A link signed with the right key but a 2-day lifetime (rules bypassed) is still refused.
    const exp = now + 2 * MAX_LINK_LIFETIME_S;
    const sig = createHmac('sha256', SECRET).update(`j|a.mp3|${exp}`).digest('base64url');
    assert.deepEqual(verifyDownload({ ...base, exp: String(exp), sig }), { ok: false, reason: 'forbidden' });
  });

  it('refuses unsafe names and short secrets', () => {
    const base = { secret: SECRET, expiresAt: now + 60, now };
    for (const file of ['../x.flac', 'a/b.flac', '..', '.hidden', 'a\\b', 'a\0b', 'a|b', '/etc/passwd', '']) {
      assert.throws(
        () => signDownload({ ...base, jobId: 'j', file }),
        /Unsafe file name/,
        JSON.stringify(file),
      );
    }
    for (const jobId of ['..', '../j', 'a/b', '.j', 'a..b', '']) {
      assert.throws(
        () => signDownload({ ...base, jobId, file: 'a.flac' }),
        /Unsafe job id/,
        JSON.stringify(jobId),
      );
    }
    assert.throws(() => signDownload({ ...base, secret: 'short', jobId: 'j', file: 'a.flac' }), /at least/);
    assert.equal(resolveDownloadPath('/srv/dl', 'j', '../../etc/passwd'), null);
    assert.equal(resolveDownloadPath('/srv/dl', 'j', 'a.flac'), '/srv/dl/j/a.flac');
  });

  it('writes RFC 6266 dispositions', () => {
    assert.equal(contentDisposition('Vocals.flac'), 'attachment; filename="Vocals.flac"');
    assert.equal(
      contentDisposition("Rós (Vocals)'s.flac"),
      `attachment; filename="R_s (Vocals)'s.flac"; filename*=UTF-8''R%C3%B3s%20%28Vocals%29%27s.flac`,
    );
  });
});

describe('status server', () => {
  let dir: string;
  let root: string;
  let server: StatusServer;
  let ready: Record<string, boolean | string>;
  const { lines, logger } = captureLogger();
  const metrics = createStembotMetrics({ defaultLabels: { role: 'test' } });
  const payload = randomBytes(300_000);
  const unicodeName = 'Sigur Rós – Hoppípolla (Vocals).mp3';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stembot-http-'));
    root = join(dir, 'downloads');
    await mkdir(join(root, 'job-1'), { recursive: true });
    await writeFile(join(root, 'job-1', 'Vocals.flac'), payload);
    await writeFile(join(root, 'job-1', unicodeName), 'mp3 bytes');
    await writeFile(join(dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE-ROOT');
    await symlink(join(dir, 'secret.txt'), join(root, 'job-1', 'escape.flac'));
    ready = { redis: true, models: true };
    metrics.jobs.inc({ outcome: 'completed' });
    server = await startStatusServer({
      port: 0,
      host: '127.0.0.1',
      readiness: async () => ready,
      metrics: { registry: metrics.registry, extra: async () => 'extra_metric_from_hook 42' },
      downloads: { root, secret: SECRET },
      logger,
    });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const link = (file: string, expiresAt = nowSeconds() + 600, now?: number) =>
    server.url + signDownload({ secret: SECRET, jobId: 'job-1', file, expiresAt, now });

  it('answers /healthz', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');
  });

  it('answers /readyz with 200 when every check passes and 503 otherwise', async () => {
    let res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true, checks: { redis: true, models: true } });

    ready = { redis: true, models: false };
    res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ready: false, checks: { redis: true, models: false } });

    ready = { redis: 'ECONNREFUSED', models: true };
    res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    ready = { redis: true, models: true };
  });

  it('counts a check that throws or hangs as failed, with its message', async () => {
    const other = await startStatusServer({
      port: 0,
      host: '127.0.0.1',
      readinessTimeoutMs: 200,
      readiness: {
        redis: async () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        },
        models: () => true,
        slow: () => new Promise<boolean>(() => {}),
      },
      metrics: { registry: metrics.registry },
    });
    try {
      const res = await fetch(`${other.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        ready: false,
        checks: {
          redis: 'connect ECONNREFUSED 127.0.0.1:6379',
          models: true,
          slow: 'timed out after 200 ms',
        },
      });
      // Downloads are not configured on this one.
      assert.equal((await fetch(`${other.url}/download/job-1/Vocals.flac?exp=1&sig=x`)).status, 404);
    } finally {
      await other.close();
    }

    const whole = await startStatusServer({
      port: 0,
      host: '127.0.0.1',
      readiness: async () => {
        throw new Error('boom');
      },
      metrics: { registry: metrics.registry },
    });
    try {
      const res = await fetch(`${whole.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { ready: false, checks: { readiness: 'boom' } });
    } finally {
      await whole.close();
    }
  });

  it('serves /metrics: registry, stembot metrics and the extra hook', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), metrics.registry.contentType);
    const text = await res.text();
    for (const name of [
      'stembot_job_audio_seconds',
      'stembot_job_realtime_factor',
      'stembot_stage_seconds',
      'stembot_output_bytes_total',
      'stembot_jobs_total{outcome="completed",role="test"} 1',
      'process_cpu_user_seconds_total',
      'extra_metric_from_hook 42\n',
    ]) {
      assert.ok(text.includes(name), `/metrics lacks ${name}`);
    }
  });

  it('downloads a signed link with the right bytes and headers', async () => {
    const res = await fetch(link('Vocals.flac'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'audio/flac');
    assert.equal(res.headers.get('content-length'), String(payload.length));
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="Vocals.flac"');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(payload), 'downloaded bytes differ from the file');

    const uni = await fetch(link(unicodeName));
    assert.equal(uni.status, 200);
    assert.equal(uni.headers.get('content-type'), 'audio/mpeg');
    const disposition = uni.headers.get('content-disposition') ?? '';
    assert.ok(
      disposition.includes(
        `filename*=UTF-8''${encodeURIComponent(unicodeName).replace(/[()]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`,
      ),
      disposition,
    );
    assert.equal(await uni.text(), 'mp3 bytes');
  });

  it('answers HEAD with headers and no body', async () => {
    const res = await rawRequest(
      server.url,
      new URL(link('Vocals.flac')).pathname + new URL(link('Vocals.flac')).search,
      'HEAD',
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(payload.length));
    assert.equal(res.body.length, 0);
    assert.equal((await fetch(`${server.url}/healthz`, { method: 'HEAD' })).status, 200);
  });

  it('refuses other methods with 405', async () => {
    const res = await fetch(`${server.url}/healthz`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal((await fetch(link('Vocals.flac'), { method: 'DELETE' })).status, 405);
  });

  it('answers 403 to a tampered link and 410 to an expired one', async () => {
    const good = new URL(link('Vocals.flac'));
    const sig = good.searchParams.get('sig') ?? '';
    const flipped = new URL(good);
    flipped.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    assert.equal((await fetch(flipped)).status, 403);
    const longer = new URL(good);
    longer.searchParams.set('exp', String(Number(good.searchParams.get('exp')) + 60));
    assert.equal((await fetch(longer)).status, 403);
    const renamed = new URL(good);
    renamed.pathname = '/download/job-1/Music.flac';
    assert.equal((await fetch(renamed)).status, 403);
    const bare = new URL(good);
    bare.search = '';
    assert.equal((await fetch(bare)).status, 403);

    const past = nowSeconds() - 3600;
    const expired = await fetch(link('Vocals.flac', past + 60, past));
    assert.equal(expired.status, 410);
  });

  it('answers 404 to a signed link whose file is missing', async () => {
    assert.equal((await fetch(link('Bleed.flac'))).status, 404);
    const otherJob =
      server.url +
      signDownload({ secret: SECRET, jobId: 'job-2', file: 'Vocals.flac', expiresAt: nowSeconds() + 60 });
    assert.equal((await fetch(otherJob)).status, 404);
  });

  it('never serves anything outside the root', async () => {
    const exp = nowSeconds() + 600;
    const forged = (jobId: string, file: string) =>
      createHmac('sha256', SECRET).update(`${jobId}|${file}|${exp}`).digest('base64url');
    const attempts = [
      `/download/job-1/..%2F..%2Fsecret.txt`,
      `/download/..%2F..%2Fsecret.txt/x`,
      `/download/job-1/%2E%2E%2Fsecret.txt`,
      `/download/job-1/..%5C..%5Csecret.txt`,
      `/download/%2e%2e/secret.txt`,
      `/download/../secret.txt`,
      `/download/job-1/../../secret.txt`,
      `/download/job-1/%2Fetc%2Fpasswd`,
      `/download/job-1/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      `/download/job-1%2F..%2F..%2Fsecret.txt`,
      `/download/job-1/secret.txt%00.flac`,
      `/download/job-1/%E0%A4%A`,
      `//${dir}/secret.txt`,
    ];
    for (const path of attempts) {
      // Even with a signature made for exactly the decoded names, the names themselves are refused.
      const decoded = path
        .split('/')
        .slice(2)
        .map((p) => {
          try {
            return decodeURIComponent(p);
          } catch {
            return p;
          }
        });
      const sig = forged(decoded[0] ?? '', decoded[1] ?? '');
      const res = await rawRequest(server.url, `${path}?exp=${exp}&sig=${sig}`);
      assert.ok([403, 404].includes(res.status), `${path} answered ${res.status}`);
      assert.ok(!res.body.toString().includes('TOP-SECRET'), `${path} leaked the file outside the root`);
    }
    // A symbolic link planted inside the root that points outside it, with a genuine signature.
    const res = await fetch(link('escape.flac'));
    assert.equal(res.status, 404);
    assert.ok(!(await res.text()).includes('TOP-SECRET'), 'symlink escape leaked the file');
  });

  it('never logs a signature', () => {
    assert.ok(lines.length > 0, 'the server logged nothing');
    assert.ok(!lines.some((line) => line.includes('sig=') || line.includes('exp=')), lines.join('\n'));
  });
});

describe('status server with BullMQ metrics', () => {
  const prefix = `stembot-test-${randomBytes(6).toString('hex')}`;
  const queueName = `separate-${randomBytes(4).toString('hex')}`;
  let queue: Queue;
  let redis: Redis;
  let server: StatusServer;

  before(async () => {
    redis = new Redis({ ...REDIS, lazyConnect: true });
    await redis.connect();
    queue = new Queue(queueName, { connection: REDIS, prefix });
    await queue.add('separate', { n: 1 });
    await queue.add('separate', { n: 2 });
    const { registry } = createStembotMetrics({ collectDefault: false });
    server = await startStatusServer({
      port: 0,
      host: '127.0.0.1',
      readiness: { redis: async () => (await redis.ping()) === 'PONG' },
      metrics: { registry, extra: () => queue.exportPrometheusMetrics({ role: 'worker' }) },
    });
  });

  after(async () => {
    await server?.close();
    if (queue) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    if (redis) {
      // obliterate leaves a few bookkeeping keys (meta, events); remove everything under the unique prefix.
      const leftovers = await redis.keys(`${prefix}:*`);
      if (leftovers.length > 0) await redis.del(...leftovers);
      await redis.quit();
    }
  });

  it('appends Queue#exportPrometheusMetrics() to /metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.includes('stembot_jobs_total'), 'the stembot registry is missing');
    assert.ok(
      text.includes(`bullmq_job_count{queue="${queueName}", state="waiting", role="worker"} 2`),
      `BullMQ export missing:\n${text}`,
    );
    assert.ok(text.includes('bullmq_job_completed_total'), 'BullMQ completed counter missing');
    assert.ok(text.endsWith('\n'), 'exposition text must end with a newline');
  });

  it('reports Redis readiness', async () => {
    const res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true, checks: { redis: true } });
  });
});
