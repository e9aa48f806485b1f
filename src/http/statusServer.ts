import { constants as fsConstants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { Registry } from 'prom-client';

import { DOWNLOAD_PREFIX, isInside, resolveDownloadPath, verifyDownload } from './signedLinks.js';

/**
 * The small HTTP server every process runs (design §6): `/healthz` (the process is alive), `/readyz` (it can do
 * its work), `/metrics` (Prometheus) and, where downloads are configured, signed `/download/...` links.
 * node:http only: four routes do not need a framework.
 */

/** Readiness values: only `true` passes; `false` or a string (the reason) fails. */
export type ReadinessReport = Record<string, boolean | string>;
export type ReadinessCheck = () => boolean | string | Promise<boolean | string>;
/** Either one function returning all named checks, or a check function per name. */
export type ReadinessSource = (() => Promise<ReadinessReport>) | Record<string, ReadinessCheck>;

/** The subset of a pino logger this server uses. */
export interface StatusLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface StatusServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Interface to bind; all interfaces by default, so container healthchecks and Prometheus can reach it. */
  host?: string;
  readiness: ReadinessSource;
  metrics: {
    registry: Registry;
    /** More exposition text appended to the registry's, e.g. `() => queue.exportPrometheusMetrics()`. */
    extra?: () => Promise<string>;
  };
  /** Serve signed links to `<root>/<jobId>/<file>`; without it `/download/...` is 404. */
  downloads?: { root: string; secret: string };
  logger?: StatusLogger;
  /** A readiness check slower than this fails (a hung Redis must not hang the probe). Default 5 s. */
  readinessTimeoutMs?: number;
  /** On close, in-flight downloads get this long before their connections are cut. Default 2 s. */
  closeGraceMs?: number;
}

export interface StatusServer {
  /** Base URL to reach the server from this host, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.flac': 'audio/flac',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.opus': 'audio/ogg; codecs=opus',
  '.ogg': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.zip': 'application/zip',
  '.png': 'image/png',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * `attachment` with an ASCII `filename` fallback and, for other names, an RFC 5987 `filename*` (RFC 6266 §4.3).
 */
export function contentDisposition(file: string): string {
  const ascii = file.replace(/[^\x20-\x7e]|["\\]/g, '_');
  if (ascii === file) return `attachment; filename="${file}"`;
  const encoded = encodeURIComponent(file).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the checks; a check that throws or times out becomes its error message (a failure). */
export async function runReadiness(source: ReadinessSource, timeoutMs: number): Promise<ReadinessReport> {
  if (typeof source === 'function') {
    try {
      return await withTimeout(source(), timeoutMs);
    } catch (error) {
      return { readiness: errorMessage(error) };
    }
  }
  const entries = await Promise.all(
    Object.entries(source).map(async ([name, check]): Promise<[string, boolean | string]> => {
      try {
        return [name, await withTimeout(Promise.resolve().then(check), timeoutMs)];
      } catch (error) {
        return [name, errorMessage(error)];
      }
    }),
  );
  return Object.fromEntries(entries);
}

function sendText(res: ServerResponse, status: number, body: string, headOnly: boolean, type?: string): void {
  res.writeHead(status, {
    'Content-Type': type ?? 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(headOnly ? undefined : body);
}

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { logger, downloads } = options;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 5000;
  const closeGraceMs = options.closeGraceMs ?? 2000;
  const downloadRoot = downloads ? await realpath(downloads.root).catch(() => null) : null;
  if (downloads && !downloadRoot) throw new Error(`Download root ${downloads.root} does not exist`);

  async function serveMetrics(res: ServerResponse, headOnly: boolean): Promise<void> {
    const { registry, extra } = options.metrics;
    let body = await registry.metrics();
    if (extra) {
      try {
        const text = await extra();
        // The exposition format wants every line, the last included, ended by a newline.
        body += '\n' + text + (text.endsWith('\n') ? '' : '\n');
      } catch (error) {
        // Keep the process metrics when the queue's export fails (Redis down): a comment line, not a 500.
        logger?.warn({ err: errorMessage(error) }, 'extra metrics failed');
        body += `\n# stembot: extra metrics unavailable: ${errorMessage(error).replace(/\s+/g, ' ')}\n`;
      }
    }
    sendText(res, 200, body, headOnly, registry.contentType);
  }

  async function serveDownload(url: URL, res: ServerResponse, headOnly: boolean): Promise<number> {
    if (!downloads || !downloadRoot) return notFound(res, headOnly);
    const parts = url.pathname.slice(DOWNLOAD_PREFIX.length).split('/');
    if (parts.length !== 2) return notFound(res, headOnly);
    let jobId: string;
    let file: string;
    try {
      [jobId, file] = parts.map((part) => decodeURIComponent(part));
    } catch {
      return forbidden(res, headOnly);
    }
    const verdict = verifyDownload({
      secret: downloads.secret,
      jobId,
      file,
      exp: url.searchParams.get('exp'),
      sig: url.searchParams.get('sig'),
    });
    if (!verdict.ok) {
      if (verdict.reason === 'expired') {
        sendText(res, 410, 'This link has expired.\n', headOnly);
        return 410;
      }
      return forbidden(res, headOnly);
    }
    const target = resolveDownloadPath(downloadRoot, jobId, file);
    if (!target) return forbidden(res, headOnly);
    // Resolve symbolic links and check again, so a link planted under the root cannot point outside it.
    const real = await realpath(target).catch(() => null);
    if (!real || !isInside(downloadRoot, real)) return notFound(res, headOnly);
    const handle = await open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch(() => null);
    if (!handle) return notFound(res, headOnly);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return notFound(res, headOnly);
      res.writeHead(200, {
        'Content-Type': contentTypeOf(file),
        'Content-Length': stat.size,
        'Content-Disposition': contentDisposition(file),
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'private, no-store',
        'Referrer-Policy': 'no-referrer',
        'Last-Modified': stat.mtime.toUTCString(),
      });
      if (headOnly) {
        res.end();
        return 200;
      }
      try {
        await pipeline(handle.createReadStream({ autoClose: false }), res);
      } catch (error) {
        // Usually the client went away mid-download; nothing to answer any more.
        logger?.debug({ path: url.pathname, err: errorMessage(error) }, 'download interrupted');
      }
      return 200;
    } finally {
      await handle.close();
    }
  }

  function notFound(res: ServerResponse, headOnly: boolean): number {
    sendText(res, 404, 'Not found.\n', headOnly);
    return 404;
  }

  function forbidden(res: ServerResponse, headOnly: boolean): number {
    sendText(res, 403, 'Forbidden.\n', headOnly);
    return 403;
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, 405, 'Method not allowed.\n', false);
      return 405;
    }
    const headOnly = method === 'HEAD';
    const path = url.pathname;
    if (path === '/healthz') {
      sendText(res, 200, 'ok\n', headOnly);
      return 200;
    }
    if (path === '/readyz') {
      const checks = await runReadiness(options.readiness, readinessTimeoutMs);
      const ready = Object.values(checks).every((value) => value === true);
      const status = ready ? 200 : 503;
      sendText(res, status, JSON.stringify({ ready, checks }) + '\n', headOnly, 'application/json');
      return status;
    }
    if (path === '/metrics') {
      await serveMetrics(res, headOnly);
      return 200;
    }
    if (path.startsWith(DOWNLOAD_PREFIX)) return serveDownload(url, res, headOnly);
    return notFound(res, headOnly);
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    // Only the path is ever logged: the query string of a download carries its signature.
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendText(res, 400, 'Bad request.\n', false);
      return;
    }
    route(req, res, url).then(
      (status) => {
        logger?.debug(
          { method: req.method, path: url.pathname, status, ms: Math.round(performance.now() - started) },
          'http request',
        );
      },
      (error: unknown) => {
        logger?.warn(
          { method: req.method, path: url.pathname, err: errorMessage(error) },
          'http request failed',
        );
        if (!res.headersSent) sendText(res, 500, 'Internal error.\n', false);
        else res.destroy();
      },
    );
  });

  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const reachableHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${reachableHost}:${port}`;
  logger?.info({ url, downloads: Boolean(downloads) }, 'status server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolveClose) => {
        const force = setTimeout(() => server.closeAllConnections(), closeGraceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolveClose();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
