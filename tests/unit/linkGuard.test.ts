import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  type FetchLinkOptions,
  fetchLinkToFile,
  isLinkFetchError,
  type LinkFetchError,
} from '../../src/queue/sources/fetchLink.js';
import { type AddressClass, classifyAddress, isPublicAddress } from '../../src/queue/sources/ipRanges.js';

describe('classifyAddress', () => {
  const table: readonly [string, AddressClass][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:a9fe:a9fe::', 'link-local'],
    ['2002:808:808::1', 'public'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fec0::1', 'reserved'],
    ['ff02::1', 'multicast'],
    ['::127.0.0.1', 'reserved'],
    ['4000::1', 'reserved'],
    ['2606:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['localhost', 'invalid'],
    ['1.2.3', 'invalid'],
    ['[::1]', 'invalid'],
  ];
  for (const [address, expected] of table) {
    it(`${address} is ${expected}`, () => {
      assert.equal(classifyAddress(address), expected);
      assert.equal(isPublicAddress(address), expected === 'public');
    });
  }
});

/** A local HTTP server whose handler is chosen by path; counts the requests it got. */
interface TestServer {
  readonly server: http.Server;
  readonly origin: string;
  readonly hits: string[];
  readonly hosts: string[];
}

async function startServer(
  host: string,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<TestServer> {
  const hits: string[] = [];
  const hosts: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    hosts.push(req.headers.host ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { server, origin, hits, hosts };
}

async function stopServer(s: TestServer | undefined): Promise<void> {
  if (!s) return;
  s.server.closeAllConnections(); // stalled responses would keep close() waiting
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
}

async function rejection(promise: Promise<unknown>): Promise<LinkFetchError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isLinkFetchError(error), `expected a LinkFetchError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the fetch to be refused');
}

describe('fetchLinkToFile', () => {
  const payload = randomBytes(64 * 1024);
  let dir: string;
  let main: TestServer;
  let second: TestServer | undefined; // 127.0.0.2: loopback too, must never be reached
  let ipv6: TestServer | undefined; // [::1], where the machine has IPv6 loopback
  let counter = 0;
  const dest = () => join(dir, `song-${counter++}.bin`);
  const local = (extra: Partial<FetchLinkOptions> = {}): FetchLinkOptions => ({
    maxBytes: 1 << 20,
    timeoutMs: 3000,
    idleTimeoutMs: 1000,
    allowPrivate: false,
    allowAddresses: ['127.0.0.1'],
    ...extra,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stembot-link-'));
    second = await startServer('127.0.0.2', (_req, res) => res.end('secret')).catch(() => undefined);
    ipv6 = await startServer('::1', (_req, res) => res.end('secret')).catch(() => undefined);
    main = await startServer('127.0.0.1', (req, res) => {
      const path = req.url ?? '/';
      const redirect = (to: string) => {
        res.writeHead(302, { location: to });
        res.end();
      };
      if (path === '/song') {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': payload.length });
        res.end(payload);
      } else if (path === '/to-song') redirect('/song');
      else if (path === '/to-second') redirect(`${second?.origin ?? 'http://127.0.0.2'}/secret`);
      else if (path === '/to-ipv6') redirect(ipv6 ? `${ipv6.origin}/secret` : 'http://[::1]/');
      else if (path === '/to-ten') redirect('http://10.0.0.1/');
      else if (path === '/to-metadata') redirect('http://169.254.169.254/latest/meta-data');
      else if (path === '/to-mapped') redirect('http://[::ffff:127.0.0.1]/');
      else if (path === '/to-ftp') redirect('ftp://example.com/song.mp3');
      else if (path === '/to-creds') redirect('http://user:pass@example.com/');
      else if (path === '/loop') redirect('/loop');
      else if (path === '/endless') {
        // Chunked, no Content-Length: only the running count can stop it.
        const chunk = Buffer.alloc(16 * 1024, 1);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.writeHead(200);
        pump();
      } else if (path === '/huge') {
        res.writeHead(200, { 'content-length': 200 * (1 << 20) + 1 });
        res.write(Buffer.alloc(1024)); // then nothing: the header alone must be enough to refuse
      } else if (path === '/stall-body') {
        res.writeHead(200, { 'content-length': 100_000 });
        res.write(Buffer.alloc(1000)); // and never the rest
      } else if (path === '/stall-headers') {
        // never answers
      } else if (path === '/drip') {
        res.writeHead(200);
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), 50);
      } else if (path === '/missing') {
        res.writeHead(404);
        res.end('not here');
      } else if (path === '/forbidden') {
        res.writeHead(403);
        res.end();
      } else if (path === '/busy') {
        res.writeHead(503);
        res.end();
      } else if (path === '/slow-down') {
        res.writeHead(429);
        res.end();
      } else {
        res.writeHead(500);
        res.end();
      }
    });
  });

  after(async () => {
    await Promise.all([stopServer(main), stopServer(second), stopServer(ipv6)]);
    await rm(dir, { recursive: true, force: true });
  });

  /** No temporary file may be left behind, whatever happened. */
  async function assertNoLeftovers(path: string): Promise<void> {
    assert.ok(!existsSync(path), `${path} must not exist`);
    const parts = (await readdir(dir)).filter((name) => name.endsWith('.part'));
    assert.deepEqual(parts, [], 'no temporary files left');
  }

  it('refuses http://127.0.0.1 without an exception, before connecting', async () => {
    const before = main.hits.length;
    const path = dest();
    const error = await rejection(
      fetchLinkToFile(`${main.origin}/song`, path, local({ allowAddresses: [] })),
    );
    assert.equal(error.code, 'URL_REFUSED');
    assert.equal(error.transient, false);
    assert.match(error.message, /private network address/);
    assert.equal(main.hits.length, before, 'the server got no request');
    await assertNoLeftovers(path);
  });

  it('refuses 10.0.0.0/8, 169.254.169.254 and [::1] literals', async () => {
    for (const url of ['http://10.1.2.3/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/']) {
      const error = await rejection(fetchLinkToFile(url, dest(), local()));
      assert.equal(error.code, 'URL_REFUSED', url);
      assert.equal(error.transient, false, url);
    }
    assert.equal(ipv6?.hits.length ?? 0, 0, 'the [::1] server got no request');
  });

  it('refuses schemes other than http(s), credentials and non-URLs', async () => {
    const before = main.hits.length;
    const urls = [
      'ftp://example.com/song.mp3',
      'file:///etc/passwd',
      'data:audio/mpeg;base64,AAAA',
      'javascript:alert(1)',
      `http://user:pass@${main.origin.slice('http://'.length)}/song`,
      `http://user@${main.origin.slice('http://'.length)}/song`,
      'not a url',
    ];
    for (const url of urls) {
      const error = await rejection(fetchLinkToFile(url, dest(), local()));
      assert.equal(error.code, 'URL_REFUSED', url);
      assert.equal(error.transient, false, url);
    }
    assert.equal(main.hits.length, before, 'the server got no request');
  });

  it('downloads from an allowed address; Content-Type is only reported', async () => {
    const path = dest();
    const result = await fetchLinkToFile(`${main.origin}/song`, path, local());
    assert.equal(result.bytes, payload.length);
    assert.equal(result.finalUrl, `${main.origin}/song`);
    assert.equal(result.contentType, 'text/html');
    assert.ok((await readFile(path)).equals(payload), 'the file holds the body');
  });

  it('follows a relative redirect', async () => {
    const path = dest();
    const result = await fetchLinkToFile(`${main.origin}/to-song`, path, local());
    assert.equal(result.finalUrl, `${main.origin}/song`);
    assert.ok((await readFile(path)).equals(payload), 'the file holds the body');
  });

  it('connects to the checked address and keeps the host name for Host', async () => {
    const port = new URL(main.origin).port;
    const lookups: string[] = [];
    const lookup = async (hostname: string) => {
      lookups.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const path = dest();
    const result = await fetchLinkToFile(`http://songs.invalid:${port}/song`, path, local({ lookup }));
    assert.equal(result.bytes, payload.length);
    assert.deepEqual(lookups, ['songs.invalid'], 'resolved once, by us (.invalid never resolves in DNS)');
    assert.equal(main.hosts.at(-1), `songs.invalid:${port}`);
  });

  it('refuses a host name when any of its addresses is not public', async () => {
    for (const addresses of [
      ['8.8.8.8', '10.0.0.1'],
      ['127.0.0.1', '1.1.1.1'],
      ['2606:4700::1111', 'fe80::1'],
      ['::ffff:169.254.169.254'],
    ]) {
      const lookup = async () =>
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      const error = await rejection(
        fetchLinkToFile('http://songs.invalid/song', dest(), local({ allowAddresses: [], lookup })),
      );
      assert.equal(error.code, 'URL_REFUSED', addresses.join(', '));
      assert.match(error.detail ?? '', /resolves to/);
    }
  });

  it('refuses redirects to 127.0.0.2, [::1], 10.0.0.1, 169.254.169.254, mapped IPv4, ftp: and credentials', async () => {
    for (const path of [
      '/to-second',
      '/to-ipv6',
      '/to-ten',
      '/to-metadata',
      '/to-mapped',
      '/to-ftp',
      '/to-creds',
    ]) {
      const file = dest();
      const error = await rejection(fetchLinkToFile(`${main.origin}${path}`, file, local()));
      assert.equal(error.code, 'URL_REFUSED', path);
      assert.equal(error.transient, false, path);
      assert.equal(main.hits.at(-1), path, 'the first hop was made');
      await assertNoLeftovers(file);
    }
    assert.equal(second?.hits.length ?? 0, 0, 'the 127.0.0.2 server got no request');
    assert.equal(ipv6?.hits.length ?? 0, 0, 'the [::1] server got no request');
  });

  it('stops after maxRedirects', async () => {
    const before = main.hits.length;
    const error = await rejection(fetchLinkToFile(`${main.origin}/loop`, dest(), local({ maxRedirects: 3 })));
    assert.equal(error.code, 'URL_REFUSED');
    assert.equal(error.transient, false);
    assert.match(error.message, /more than 3/);
    assert.equal(main.hits.length - before, 4, 'the first request and three redirects');
  });

  it('stops a body that passes the cap and leaves nothing behind', async () => {
    const path = dest();
    const error = await rejection(
      fetchLinkToFile(`${main.origin}/endless`, path, local({ maxBytes: 200_000 })),
    );
    assert.equal(error.code, 'INPUT_TOO_LARGE');
    assert.equal(error.transient, false);
    await assertNoLeftovers(path);
  });

  it('refuses up front when Content-Length is over the cap', async () => {
    const path = dest();
    const started = Date.now();
    const error = await rejection(
      fetchLinkToFile(`${main.origin}/huge`, path, local({ maxBytes: 200 * (1 << 20) })),
    );
    assert.equal(error.code, 'INPUT_TOO_LARGE');
    assert.equal(error.message, 'The file is larger than the 200 MB limit.');
    assert.ok(Date.now() - started < 900, 'refused before the idle timeout');
    await assertNoLeftovers(path);
  });

  it('gives up on a stalled server after the idle timeout, as transient', async () => {
    for (const path of ['/stall-headers', '/stall-body']) {
      const file = dest();
      const started = Date.now();
      const error = await rejection(
        fetchLinkToFile(`${main.origin}${path}`, file, local({ idleTimeoutMs: 300 })),
      );
      const elapsed = Date.now() - started;
      assert.equal(error.code, 'DOWNLOAD_FAILED', path);
      assert.equal(error.transient, true, path);
      assert.match(error.message, /stopped answering/, path);
      assert.ok(elapsed >= 250 && elapsed < 1500, `${path} gave up after ${elapsed} ms`);
      await assertNoLeftovers(file);
    }
  });

  it('gives up at the overall deadline even while data trickles in', async () => {
    const file = dest();
    const started = Date.now();
    const error = await rejection(
      fetchLinkToFile(`${main.origin}/drip`, file, local({ timeoutMs: 500, idleTimeoutMs: 300 })),
    );
    const elapsed = Date.now() - started;
    assert.equal(error.code, 'DOWNLOAD_FAILED');
    assert.equal(error.transient, true);
    assert.match(error.message, /took longer/);
    assert.ok(elapsed < 1500, `gave up after ${elapsed} ms`);
    await assertNoLeftovers(file);
  });

  it('tells permanent HTTP errors from transient ones', async () => {
    const cases: readonly [string, boolean][] = [
      ['/missing', false],
      ['/forbidden', false],
      ['/busy', true],
      ['/slow-down', true],
      ['/other', true],
    ];
    for (const [path, transient] of cases) {
      const error = await rejection(fetchLinkToFile(`${main.origin}${path}`, dest(), local()));
      assert.equal(error.code, 'DOWNLOAD_FAILED', path);
      assert.equal(error.transient, transient, path);
    }
  });

  it('treats a refused connection as transient', async () => {
    const closed = await startServer('127.0.0.1', () => undefined);
    const origin = closed.origin;
    await stopServer(closed);
    const error = await rejection(fetchLinkToFile(`${origin}/song`, dest(), local()));
    assert.equal(error.code, 'DOWNLOAD_FAILED');
    assert.equal(error.transient, true);
  });

  it('allows private addresses when allowPrivate is set', async (t) => {
    t.diagnostic(
      `127.0.0.2 server: ${second ? 'up' : 'not bound'}; [::1] server: ${ipv6 ? 'up' : 'not bound'}`,
    );
    const path = dest();
    const result = await fetchLinkToFile(
      `${main.origin}/song`,
      path,
      local({ allowPrivate: true, allowAddresses: [] }),
    );
    assert.equal(result.bytes, payload.length);
    // Control for the refusal tests: without the guard the redirect really reaches the second server.
    if (second) {
      const other = await fetchLinkToFile(`${main.origin}/to-second`, dest(), local({ allowPrivate: true }));
      assert.equal(other.bytes, 'secret'.length);
      assert.equal(second.hits.length, 1, 'the 127.0.0.2 server got the request');
    }
  });

  it('rejects with the reason of an aborted signal', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const path = dest();
    const pending = fetchLinkToFile(`${main.origin}/stall-body`, path, local({ signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(pending, (error) => error === reason);
    await assertNoLeftovers(path);
  });
});
