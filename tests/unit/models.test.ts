import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it, mock } from 'node:test';
import { formatDownloadProgress } from '../../src/cli/models.js';
import { seededRandom } from '../../src/fixtures/seededRandom.js';
import { StembotError } from '../../src/pipeline/errors.js';
import { downloadModel } from '../../src/pipeline/models/download.js';
import { listModels, verifyModels } from '../../src/pipeline/models/installedModels.js';
import type { CatalogEntry } from '../../src/pipeline/models/modelParams.js';

/**
 * `stembot models` against real local HTTP servers: an "origin" that serves generated model bytes with Range
 * support (and misbehaves on request), and a "mirror" on another port that redirects there, as GitHub release
 * URLs redirect to another host.
 */

type Mode = 'normal' | 'cut-once' | 'ignore-range' | 'stall' | 'hang';

interface Served {
  bytes: Buffer;
  mode: Mode;
}

interface SeenRequest {
  readonly server: 'mirror' | 'origin';
  readonly file: string;
  readonly range: string | undefined;
  status?: number;
}

const served = new Map<string, Served>();
const seen: SeenRequest[] = [];
let origin: http.Server;
let mirror: http.Server;
let mirrorBase: string;
let workDir: string;

function serveOrigin(request: http.IncomingMessage, response: http.ServerResponse): void {
  const file = decodeURIComponent((request.url ?? '').replace(/^\/files\//, ''));
  const record: SeenRequest = { server: 'origin', file, range: request.headers.range };
  seen.push(record);
  const item = served.get(file);
  const reply = (status: number, headers: http.OutgoingHttpHeaders) => {
    record.status = status;
    response.writeHead(status, headers);
  };
  if (!item) {
    reply(404, { 'content-type': 'text/plain' });
    response.end('not found');
    return;
  }
  if (item.mode === 'hang') return; // never answers: the client's connect timeout must fire
  const total = item.bytes.length;
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  if (range && item.mode !== 'ignore-range') {
    start = Number(range[1]);
    if (start >= total) {
      reply(416, { 'content-range': `bytes */${total}` });
      response.end();
      return;
    }
    reply(206, {
      'content-range': `bytes ${start}-${total - 1}/${total}`,
      'content-length': total - start,
      'accept-ranges': 'bytes',
    });
  } else {
    reply(200, { 'content-length': total, 'accept-ranges': 'bytes' });
  }
  const body = item.bytes.subarray(start);
  if (item.mode === 'cut-once') {
    item.mode = 'normal';
    // Half the body, then the connection drops: the client holds a .part to resume.
    response.write(body.subarray(0, body.length >> 1), () => response.socket?.destroy());
    return;
  }
  if (item.mode === 'stall') {
    response.write(body.subarray(0, 65_536)); // then silence: the client's idle timeout must fire
    return;
  }
  response.end(body);
}

function serveMirror(request: http.IncomingMessage, response: http.ServerResponse): void {
  const file = (request.url ?? '').replace(/^\/mirror\//, '');
  seen.push({ server: 'mirror', file: decodeURIComponent(file), range: request.headers.range, status: 302 });
  const { port } = origin.address() as AddressInfo;
  response.writeHead(302, { location: `http://127.0.0.1:${port}/files/${file}` });
  response.end();
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Seeded random bytes: a stand-in for a model file, the same on every run. */
function modelBytes(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = Math.floor(random.next() * 2 ** 32);
  return Buffer.from(words.buffer, 0, length);
}

/** UVR hash computed independently: MD5 of the last 10,240,000 bytes (these files are smaller: all of it). */
function md5Tail(bytes: Buffer): string {
  return createHash('md5')
    .update(bytes.subarray(Math.max(0, bytes.length - 10_240_000)))
    .digest('hex');
}

const MB = 1_000_000;

/** Puts a generated model on the origin and returns its catalog row. */
function publish(id: string, length: number, seed: number, mode: Mode = 'normal'): CatalogEntry {
  const file = `${id}.onnx`;
  const bytes = modelBytes(length, seed);
  served.set(file, { bytes, mode });
  return entryFor(id, bytes);
}

function entryFor(id: string, bytes: Buffer, overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  const file = `${id}.onnx`;
  return {
    id,
    name: `Test ${id}`,
    file,
    url: `https://github.invalid/releases/download/all/${file}`,
    uvr_hash: md5Tail(bytes),
    size: bytes.length,
    n_fft: 6144,
    dim_f: 3072,
    dim_t: 256,
    compensate: 1.02,
    uvr_compensate: 1.02,
    stem: 'Instrumental',
    ...overrides,
  };
}

async function freshDir(name: string): Promise<string> {
  return mkdtemp(join(workDir, `${name}-`));
}

function servedBytes(id: string): Buffer {
  const item = served.get(`${id}.onnx`);
  assert.ok(item, `${id} is served`);
  return item.bytes;
}

async function expectFailure(promise: Promise<unknown>, code: string): Promise<StembotError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${code} failure`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof StembotError, `a StembotError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

const originRequests = () => seen.filter((request) => request.server === 'origin');

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'stembot-models-'));
  origin = http.createServer(serveOrigin);
  mirror = http.createServer(serveMirror);
  await listen(origin);
  mirrorBase = `http://127.0.0.1:${await listen(mirror)}/mirror/`;
});

after(async () => {
  for (const server of [origin, mirror]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rm(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  served.clear();
  seen.length = 0;
});

describe('downloadModel', () => {
  it('downloads through a cross-host redirect, verifies, and installs atomically', async () => {
    const entry = publish('alpha', 3 * MB, 1);
    const dir = await freshDir('install');
    const target = join(dir, entry.file);
    let progressCalls = 0;
    let lastDone = 0;
    const result = await downloadModel(entry, dir, {
      baseUrl: mirrorBase,
      onProgress: ({ done, total }) => {
        progressCalls++;
        lastDone = done;
        assert.equal(total, entry.size);
        assert.ok(!existsSync(target), 'the model file appears only after verification');
      },
    });
    assert.equal(result.status, 'installed');
    assert.equal(result.path, target);
    assert.equal(result.transferred, entry.size);
    assert.equal(result.resumedFrom, 0);
    assert.equal(result.hash, entry.uvr_hash);
    assert.equal(lastDone, entry.size);
    assert.ok(progressCalls > 1, `progress reported as bytes arrive (${progressCalls} calls)`);
    assert.ok((await readFile(target)).equals(servedBytes('alpha')), 'installed bytes are the served bytes');
    assert.ok(!existsSync(`${target}.part`), 'no .part left behind');
    assert.deepEqual(
      seen.map(({ server, file, range, status }) => ({ server, file, range, status })),
      [
        { server: 'mirror', file: 'alpha.onnx', range: undefined, status: 302 },
        { server: 'origin', file: 'alpha.onnx', range: undefined, status: 200 },
      ],
    );

    const again = await downloadModel(entry, dir, { baseUrl: mirrorBase });
    assert.equal(again.status, 'already-installed');
    assert.equal(seen.length, 2, 'an installed model that verifies is not downloaded again');
  });

  it('resumes an interrupted download from its .part with a Range request', async () => {
    const entry = publish('bravo', 3 * MB, 2, 'cut-once');
    const dir = await freshDir('resume');
    const part = join(dir, `${entry.file}.part`);
    const error = await expectFailure(downloadModel(entry, dir, { baseUrl: mirrorBase }), 'DOWNLOAD_FAILED');
    assert.match(error.message, /bravo\.onnx stopped after .* MB.*pull bravo` again to resume/);
    const partSize = (await stat(part)).size;
    assert.ok(partSize > 0 && partSize < 3 * MB, `the .part holds what arrived (${partSize} bytes)`);
    assert.ok(!existsSync(join(dir, entry.file)), 'nothing installed');

    const result = await downloadModel(entry, dir, { baseUrl: mirrorBase });
    const last = originRequests().at(-1);
    assert.equal(last?.range, `bytes=${partSize}-`);
    assert.equal(last?.status, 206);
    assert.equal(result.resumedFrom, partSize);
    assert.equal(result.transferred, 3 * MB - partSize);
    assert.ok((await readFile(result.path)).equals(servedBytes('bravo')), 'resumed file is whole and right');
    assert.ok(!existsSync(part), '.part renamed into place');
  });

  it('starts over cleanly when the server ignores Range and answers 200', async () => {
    const entry = publish('charlie', 2 * MB, 3, 'ignore-range');
    const dir = await freshDir('norange');
    await writeFile(join(dir, `${entry.file}.part`), Buffer.alloc(1000, 0xff)); // stale bytes to discard
    const result = await downloadModel(entry, dir, { baseUrl: mirrorBase });
    assert.deepEqual(
      originRequests().map(({ range, status }) => ({ range, status })),
      [{ range: 'bytes=1000-', status: 200 }],
    );
    assert.equal(result.resumedFrom, 0);
    assert.ok(
      (await readFile(result.path)).equals(servedBytes('charlie')),
      'the part was replaced, not appended to',
    );
  });

  it('accepts 416 for a .part that is already whole, and skips the request when the catalog size says so', async () => {
    const bytes = publish('delta', MB, 4) && servedBytes('delta');
    const unsized = entryFor('delta', bytes, { size: null });
    const dir = await freshDir('complete');
    await writeFile(join(dir, `${unsized.file}.part`), bytes);
    const result = await downloadModel(unsized, dir, { baseUrl: mirrorBase });
    assert.deepEqual(
      originRequests().map(({ range, status }) => ({ range, status })),
      [{ range: `bytes=${MB}-`, status: 416 }],
    );
    assert.equal(result.status, 'installed');
    assert.equal(result.transferred, 0);

    const sizedDir = await freshDir('complete-sized');
    await writeFile(join(sizedDir, `${unsized.file}.part`), bytes);
    seen.length = 0;
    await downloadModel(entryFor('delta', bytes), sizedDir, { baseUrl: mirrorBase });
    assert.equal(seen.length, 0, 'a .part of the catalog size is verified without asking the server');
  });

  it('refuses a file whose UVR hash differs: nothing installed, .part removed, both hashes named', async () => {
    const good = publish('echo', MB, 5);
    const wrong = { ...good, uvr_hash: '0123456789abcdef0123456789abcdef' };
    const dir = await freshDir('corrupt');
    const error = await expectFailure(
      downloadModel(wrong, dir, { baseUrl: mirrorBase }),
      'MODEL_HASH_MISMATCH',
    );
    assert.ok(error.message.includes(wrong.uvr_hash), `expected hash in: ${error.message}`);
    assert.ok(error.message.includes(good.uvr_hash), `actual hash in: ${error.message}`);
    assert.ok(!existsSync(join(dir, good.file)), 'nothing installed');
    assert.ok(!existsSync(join(dir, `${good.file}.part`)), '.part removed');
  });

  it('refuses a server that offers another size before writing anything', async () => {
    const entry = { ...publish('foxtrot', MB, 6), size: MB + 1 };
    const dir = await freshDir('size');
    const error = await expectFailure(downloadModel(entry, dir, { baseUrl: mirrorBase }), 'DOWNLOAD_FAILED');
    assert.match(error.message, /serves 1000000 bytes but the catalog expects 1000001/);
    assert.ok(!existsSync(join(dir, `${entry.file}.part`)), 'no .part written');
  });

  it('names the file and the status on a 404', async () => {
    const entry = entryFor('golf', Buffer.alloc(10));
    const dir = await freshDir('404');
    const error = await expectFailure(downloadModel(entry, dir, { baseUrl: mirrorBase }), 'DOWNLOAD_FAILED');
    assert.match(
      error.message,
      /golf\.onnx failed: HTTP 404 Not Found from http:\/\/127\.0\.0\.1:\d+\/files\/golf\.onnx/,
    );
    assert.ok(!existsSync(join(dir, `${entry.file}.part`)), 'no .part for a missing file');
  });

  it('times out a server that never answers one that stops sending, and a cancelled pull, keeping the .part', async () => {
    const hanging = publish('hotel', MB, 7, 'hang');
    const dir = await freshDir('timeouts');
    const noAnswer = await expectFailure(
      downloadModel(hanging, dir, { baseUrl: mirrorBase, connectTimeoutMs: 150 }),
      'DOWNLOAD_FAILED',
    );
    assert.match(noAnswer.message, /hotel\.onnx failed: no answer from 127\.0\.0\.1:\d+ within 0\.15 s/);

    const stalling = publish('india', MB, 8, 'stall');
    const stalled = await expectFailure(
      downloadModel(stalling, dir, { baseUrl: mirrorBase, idleTimeoutMs: 150 }),
      'DOWNLOAD_FAILED',
    );
    assert.match(stalled.message, /india\.onnx stalled: no data for 0\.15 s after 0\.1 of 1\.0 MB/);
    assert.equal((await stat(join(dir, `${stalling.file}.part`))).size, 65_536);

    const cancelled = publish('kilo-cancel', MB, 16, 'stall');
    const controller = new AbortController();
    const aborted = await expectFailure(
      downloadModel(cancelled, dir, {
        baseUrl: mirrorBase,
        signal: controller.signal,
        onProgress: ({ done }) => done > 0 && controller.abort(),
      }),
      'DOWNLOAD_FAILED',
    );
    assert.match(
      aborted.message,
      /kilo-cancel\.onnx stopped after 0\.\d of 1\.0 MB: cancelled\. The part is kept/,
    );
    const kept = (await stat(join(dir, `${cancelled.file}.part`))).size;
    assert.ok(kept > 0 && kept <= 65_536, `the .part keeps what arrived before the abort (${kept} bytes)`);
  });

  it('uses the catalog URL unless a base URL is given, and refuses an unreachable host clearly', async () => {
    const entry = { ...publish('juliet', 1000, 9), url: `${mirrorBase}juliet.onnx` };
    const dir = await freshDir('direct');
    const result = await downloadModel(entry, dir);
    assert.equal(result.status, 'installed');
    const closed = await expectFailure(
      downloadModel(entry, await freshDir('refused'), { baseUrl: 'http://127.0.0.1:1/' }),
      'DOWNLOAD_FAILED',
    );
    assert.match(closed.message, /juliet\.onnx failed: cannot reach 127\.0\.0\.1:1 \(.*ECONNREFUSED/);
  });
});

describe('listModels and verifyModels', () => {
  it('lists installed and missing catalog models, partial downloads, and custom models', async () => {
    const kilo = publish('kilo', 1000, 10);
    const lima = publish('lima', 1000, 11);
    const mike = publish('mike', 2000, 12);
    const dir = await freshDir('list');
    await downloadModel(kilo, dir, { baseUrl: mirrorBase });
    await writeFile(join(dir, `${mike.file}.part`), servedBytes('mike').subarray(0, 500));
    await writeFile(join(dir, 'mine.onnx'), Buffer.alloc(64));
    await writeFile(
      join(dir, 'mine.json'),
      JSON.stringify({ n_fft: 7680, dim_f: 3072, dim_t: 256, compensate: 1.01, stem: 'Vocals' }),
    );
    await writeFile(join(dir, 'orphan.onnx'), Buffer.alloc(64, 1));
    await writeFile(join(dir, 'renamed.onnx'), servedBytes('lima')); // a catalog model saved under another name

    const models = await listModels(dir, [kilo, lima, mike]);
    const summary = models.map((model) =>
      model.source === 'catalog'
        ? [model.entry.id, model.installed, model.partialBytes]
        : [model.id, model.paramsFrom, model.sameAs, model.problem],
    );
    assert.deepEqual(summary, [
      ['kilo', true, null],
      ['lima', false, null],
      ['mike', false, 500],
      ['mine.onnx', 'sidecar', null, null],
      ['orphan.onnx', null, null, 'no sidecar orphan.json and its UVR hash is not in the catalog'],
      ['renamed.onnx', 'uvr-hash', 'lima', null],
    ]);
    const mine = models.find((model) => model.source === 'custom' && model.id === 'mine.onnx');
    assert.equal(mine?.source === 'custom' ? mine.params?.n_fft : undefined, 7680);
  });

  it('verify detects a tampered installed file', async () => {
    const november = publish('november', 4000, 13);
    const oscar = publish('oscar', 4000, 14);
    const dir = await freshDir('verify');
    await downloadModel(november, dir, { baseUrl: mirrorBase });
    await downloadModel(oscar, dir, { baseUrl: mirrorBase });
    const tampered = Buffer.from(servedBytes('oscar'));
    tampered[tampered.length - 1] ^= 0xff;
    await writeFile(join(dir, oscar.file), tampered);

    const results = await verifyModels(dir, { catalog: [november, oscar] });
    assert.deepEqual(
      results.map(({ entry, status }) => [entry.id, status]),
      [
        ['november', 'ok'],
        ['oscar', 'mismatch'],
      ],
    );
    assert.equal(results[1].problem, `UVR hash ${md5Tail(tampered)}, expected ${oscar.uvr_hash}`);
    const named = await verifyModels(await freshDir('verify-empty'), {
      ids: ['november'],
      catalog: [november],
    });
    assert.equal(named[0].status, 'missing');
  });
});

describe('stembot models (through main)', () => {
  // Imported here, not at the top: main loads every command, and a broken one should fail only these tests.
  let main: (argv: string[]) => Promise<number>;
  before(async () => {
    ({ main } = await import('../../src/cli/main.js'));
  });

  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = mock.method(console, 'log', (...parts: unknown[]) => void out.push(parts.join(' ')));
    const error = mock.method(console, 'error', (...parts: unknown[]) => void err.push(parts.join(' ')));
    try {
      const code = await main(args);
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      log.mock.restore();
      error.mock.restore();
    }
  }

  it('pull, list, verify: output and exit codes', async (t) => {
    const papa = publish('papa', 5000, 15);
    const quebec = entryFor('quebec', Buffer.alloc(5000, 7)); // not on the server
    const dir = await freshDir('cli');
    const catalog = join(dir, 'test-catalog.json');
    await writeFile(catalog, JSON.stringify({ models: [papa, quebec] }));
    const where = ['--models-dir', dir, '--catalog', catalog];
    const previousBase = process.env.STEMBOT_MODEL_BASE_URL;
    process.env.STEMBOT_MODEL_BASE_URL = mirrorBase;
    t.after(() => {
      if (previousBase === undefined) delete process.env.STEMBOT_MODEL_BASE_URL;
      else process.env.STEMBOT_MODEL_BASE_URL = previousBase;
    });

    const help = await run(['models', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /stembot models pull <id>\.\.\. \| --all/);
    assert.equal((await run(['models', 'pull', ...where])).code, 2, 'pull without ids is a usage error');
    const unknown = await run(['models', 'pull', 'zulu', ...where]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: Unknown model "zulu": the catalog has papa, quebec$/);

    const pull = await run(['models', 'pull', 'papa', 'quebec', ...where]);
    assert.equal(pull.code, 1, 'one of two failed');
    assert.match(
      pull.stdout,
      /^papa: installed .*papa\.onnx \(0\.0 MB in .* s, .* MB\/s; UVR hash [0-9a-f]{32}\)$/,
    );
    assert.match(pull.stderr, /quebec: failed: Download of quebec\.onnx failed: HTTP 404/);
    assert.match(pull.stderr, /1 of 2 models failed: quebec/);
    const again = await run(['models', 'pull', 'papa', ...where]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /papa: already installed, verified/);

    const list = await run(['models', 'list', ...where]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^id\s+name\s+stem\s+n_fft\/dim_f\s+status\s+path$/m);
    assert.match(list.stdout, /^papa\s+Test papa\s+Instrumental\s+6144\/3072\s+installed\s+\S+papa\.onnx$/m);
    assert.match(list.stdout, /^quebec\s+Test quebec\s+Instrumental\s+6144\/3072\s+missing$/m);
    assert.match(list.stdout, /1 of 2 catalog models installed/);
    const json = JSON.parse((await run(['models', 'list', '--json', ...where])).stdout);
    assert.deepEqual(
      json.models.map((model: { id: string; installed: boolean }) => [model.id, model.installed]),
      [
        ['papa', true],
        ['quebec', false],
      ],
    );

    assert.equal((await run(['models', 'verify', ...where])).code, 0);
    const missing = await run(['models', 'verify', 'quebec', ...where]);
    assert.equal(missing.code, 1, 'a named model that is not installed fails verification');
    await writeFile(join(dir, papa.file), Buffer.alloc(5000));
    const tampered = await run(['models', 'verify', ...where]);
    assert.equal(tampered.code, 1);
    assert.match(
      tampered.stderr,
      new RegExp(`papa: MISMATCH: UVR hash [0-9a-f]{32}, expected ${papa.uvr_hash}`),
    );
  });
});

describe('formatDownloadProgress', () => {
  it('formats a byte progress line with size and rate', () => {
    assert.equal(
      formatDownloadProgress('kim', { done: 33_000_000, total: 66_000_000, transferred: 22_000_000 }, 2),
      `kim ${'█'.repeat(15)}${'░'.repeat(15)}  50%  33.0/66.0 MB  11.0 MB/s`,
    );
    assert.equal(
      formatDownloadProgress('kim', { done: 5e6, total: null, transferred: 5e6 }, 0),
      'kim 5.0 MB',
    );
  });
});
