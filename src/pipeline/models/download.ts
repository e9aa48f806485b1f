import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { StembotError, isStembotError } from '../errors.js';
import { PART_SUFFIX, checkAgainstCatalog, fileSize } from './installedModels.js';
import type { CatalogEntry } from './modelParams.js';

/**
 * `stembot models pull`: the only code that downloads models (design §3: never implicitly at job time).
 * Streams to `<file>.part`, resumes it with a Range request, and renames it into place only once its size and
 * UVR hash match the catalog, so a model file in the models folder is always complete.
 */

export interface DownloadProgress {
  /** bytes in the .part so far, including what an earlier, interrupted pull left there */
  readonly done: number;
  /** the full size, when the server or the catalog says */
  readonly total: number | null;
  /** bytes received by this pull (for the transfer rate) */
  readonly transferred: number;
}

export interface DownloadOptions {
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** A mirror (STEMBOT_MODEL_BASE_URL): replaces everything before the file name in the catalog URL. */
  readonly baseUrl?: string;
  /** Aborting keeps the .part, so the next pull resumes. */
  readonly signal?: AbortSignal;
  /** Longest wait for the response headers of each request (DNS, connect, TLS, server). */
  readonly connectTimeoutMs?: number;
  /** Longest gap between two pieces of the body. */
  readonly idleTimeoutMs?: number;
  readonly maxRedirects?: number;
  /** Download afresh even when the installed file verifies, discarding any .part. */
  readonly force?: boolean;
}

export interface DownloadResult {
  readonly entry: CatalogEntry;
  readonly path: string;
  readonly status: 'installed' | 'already-installed';
  readonly bytes: number;
  readonly hash: string;
  /** bytes an earlier, interrupted pull had left in the .part and this one kept */
  readonly resumedFrom: number;
  /** bytes received over the network by this pull */
  readonly transferred: number;
  readonly seconds: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'stembot (model pull)';

export async function downloadModel(
  entry: CatalogEntry,
  modelsDir: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const started = performance.now();
  const dir = resolve(modelsDir);
  const target = join(dir, entry.file);
  const part = target + PART_SUFFIX;
  const url = modelUrl(entry, options.baseUrl);
  const seconds = () => (performance.now() - started) / 1000;

  if (options.force) {
    await rm(part, { force: true });
  } else if ((await fileSize(target)) !== null) {
    const check = await checkAgainstCatalog(target, entry);
    if (check.problem === null) {
      return {
        entry,
        path: target,
        status: 'already-installed',
        bytes: check.bytes,
        hash: check.hash,
        resumedFrom: 0,
        transferred: 0,
        seconds: seconds(),
      };
    }
    // A damaged or outdated install is downloaded again; the rename below replaces it once the new one verifies.
  }

  await mkdir(dir, { recursive: true });
  const { resumedFrom, transferred } = await fetchToPart(entry, url, part, options);
  const check = await checkAgainstCatalog(part, entry);
  if (check.problem !== null) {
    await rm(part, { force: true });
    throw new StembotError(
      'MODEL_HASH_MISMATCH',
      `The download of ${entry.file} is not the catalog's model (${check.problem}); it was removed and nothing ` +
        `was installed. Pull again to download it afresh; if that fails too, the server or the catalog is wrong.`,
    );
  }
  await rename(part, target); // same folder, so atomic: readers see no file or the whole, verified one
  return {
    entry,
    path: target,
    status: 'installed',
    bytes: check.bytes,
    hash: check.hash,
    resumedFrom,
    transferred,
    seconds: seconds(),
  };
}

/** The catalog URL, or the same file name under `baseUrl` (a mirror; its query string, if any, is kept). */
export function modelUrl(entry: CatalogEntry, baseUrl?: string): URL {
  const original = new URL(entry.url);
  if (!baseUrl) return original;
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new StembotError('BAD_ARGUMENT', `STEMBOT_MODEL_BASE_URL is not a URL: "${baseUrl}"`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new StembotError('BAD_ARGUMENT', `STEMBOT_MODEL_BASE_URL must be an http(s) URL (got ${baseUrl})`);
  }
  const fileName = original.pathname.slice(original.pathname.lastIndexOf('/') + 1);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/${fileName}`;
  return base;
}

/** A URL fit for messages and logs: no credentials, no query (signed redirect targets carry tokens there). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Brings `<file>.part` to the whole file: resumes what is there with a Range request, starts over when the
 * server ignores the range (200), and accepts 416 as "already complete" when the server's size is the part's.
 */
async function fetchToPart(
  entry: CatalogEntry,
  url: URL,
  part: string,
  options: DownloadOptions,
): Promise<{ resumedFrom: number; transferred: number }> {
  let have = (await fileSize(part)) ?? 0;
  if (entry.size !== null && have > entry.size) {
    await rm(part, { force: true }); // longer than the model: not its beginning
    have = 0;
  }
  if (entry.size !== null && have === entry.size) return { resumedFrom: have, transferred: 0 }; // the hash decides

  while (true) {
    const { response, url: finalUrl } = await openUrl(
      url,
      have > 0 ? { range: `bytes=${have}-` } : {},
      entry,
      options,
    );
    const status = response.statusCode ?? 0;
    let append: boolean;
    let total: number | null;
    if (status === 416 && have > 0) {
      response.destroy();
      if (unsatisfiedRangeTotal(response.headers['content-range']) === have) {
        return { resumedFrom: have, transferred: 0 };
      }
      await rm(part, { force: true }); // the server's file is shorter than the part: start over
      have = 0;
      continue;
    } else if (status === 206 && have > 0) {
      const range = parseContentRange(response.headers['content-range']);
      if (!range || range.start !== have) {
        response.destroy(); // a range we did not ask for: start over rather than guess
        await rm(part, { force: true });
        have = 0;
        continue;
      }
      append = true;
      total = range.total;
    } else if (status === 200) {
      append = false; // no Range sent, or the server ignored it: the body is the whole file
      const length = Number(response.headers['content-length']);
      total = Number.isSafeInteger(length) && length >= 0 ? length : null;
    } else {
      response.destroy();
      const hint = status === 404 ? ': the server has no such file' : '';
      throw new StembotError(
        'DOWNLOAD_FAILED',
        `Download of ${entry.file} failed: HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd() +
          ` from ${displayUrl(finalUrl)}${hint}`,
      );
    }
    if (entry.size !== null && total !== null && total !== entry.size) {
      response.destroy();
      await rm(part, { force: true });
      throw new StembotError(
        'DOWNLOAD_FAILED',
        `Download of ${entry.file} refused: ${displayUrl(finalUrl)} serves ${total} bytes but the catalog ` +
          `expects ${entry.size}; nothing was installed`,
      );
    }
    const file = await open(part, append ? 'a' : 'w');
    try {
      const resumedFrom = append ? have : 0;
      const transferred = await streamBody(response, file, {
        entry,
        resumedFrom,
        total: total ?? entry.size,
        options,
      });
      await file.datasync(); // on disk before the rename makes it the model
      return { resumedFrom, transferred };
    } finally {
      await file.close();
    }
  }
}

/** Copies the body into `file`, with an idle timeout; returns the bytes received. */
async function streamBody(
  response: http.IncomingMessage,
  file: FileHandle,
  context: {
    entry: CatalogEntry;
    resumedFrom: number;
    total: number | null;
    options: DownloadOptions;
  },
): Promise<number> {
  const { entry, resumedFrom, total, options } = context;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let done = resumedFrom;
  let transferred = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdleTimer = () => {
    idleTimer = setTimeout(
      () =>
        response.destroy(
          new StembotError(
            'DOWNLOAD_FAILED',
            `Download of ${entry.file} stalled: no data for ${idleMs / 1000} s after ` +
              `${formatSize(done, total)}. ${resumeHint(entry)}`,
          ),
        ),
      idleMs,
    );
  };
  const onAbort = () => response.destroy();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    options.onProgress?.({ done, total, transferred });
    armIdleTimer();
    for await (const chunk of response as AsyncIterable<Buffer>) {
      clearTimeout(idleTimer);
      if (total !== null && done + chunk.length > total) {
        throw new StembotError(
          'DOWNLOAD_FAILED',
          `Download of ${entry.file} failed: the server sent more than the ${total} bytes it announced`,
        );
      }
      await writeAll(file, chunk);
      done += chunk.length;
      transferred += chunk.length;
      options.onProgress?.({ done, total, transferred });
      armIdleTimer();
    }
  } catch (error) {
    if (isStembotError(error)) throw error;
    throw interrupted(entry, done, total, options, error);
  } finally {
    clearTimeout(idleTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (options.signal?.aborted || (total !== null && done < total)) {
    throw interrupted(entry, done, total, options);
  }
  return transferred;
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset, null);
    offset += bytesWritten;
  }
}

function interrupted(
  entry: CatalogEntry,
  done: number,
  total: number | null,
  options: DownloadOptions,
  cause?: unknown,
): StembotError {
  const why = options.signal?.aborted
    ? 'cancelled'
    : `the connection closed${cause instanceof Error ? ` (${cause.message})` : ''}`;
  return new StembotError(
    'DOWNLOAD_FAILED',
    `Download of ${entry.file} stopped after ${formatSize(done, total)}: ${why}. ${resumeHint(entry)}`,
  );
}

function resumeHint(entry: CatalogEntry): string {
  return `The part is kept: run \`stembot models pull ${entry.id}\` again to resume.`;
}

function formatSize(done: number, total: number | null): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  return total === null ? `${mb(done)} MB` : `${mb(done)} of ${mb(total)} MB`;
}

/** GETs `url`, following redirects (GitHub release assets redirect to another host); resolves on headers. */
async function openUrl(
  url: URL,
  headers: Record<string, string>,
  entry: CatalogEntry,
  options: DownloadOptions,
): Promise<{ response: http.IncomingMessage; url: URL }> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let current = url;
  for (let redirects = 0; ; redirects++) {
    let response: http.IncomingMessage;
    try {
      response = await requestHeaders(current, headers, entry, options);
    } catch (error) {
      if (isStembotError(error)) throw error;
      const why = options.signal?.aborted
        ? 'cancelled'
        : `cannot reach ${current.host} (${describeNetworkError(error)})`;
      throw new StembotError('DOWNLOAD_FAILED', `Download of ${entry.file} failed: ${why}`);
    }
    const status = response.statusCode ?? 0;
    if (!REDIRECT_STATUSES.has(status)) return { response, url: current };
    response.destroy();
    const location = response.headers.location;
    if (!location || redirects >= maxRedirects) {
      throw new StembotError(
        'DOWNLOAD_FAILED',
        `Download of ${entry.file} failed: ${location ? `more than ${maxRedirects} redirects` : `HTTP ${status} without a Location`} from ${displayUrl(current)}`,
      );
    }
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new StembotError(
        'DOWNLOAD_FAILED',
        `Download of ${entry.file} failed: redirected to an unsupported ${next.protocol} URL`,
      );
    }
    current = next;
  }
}

function requestHeaders(
  url: URL,
  headers: Record<string, string>,
  entry: CatalogEntry,
  options: DownloadOptions,
): Promise<http.IncomingMessage> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const get = url.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolvePromise, reject) => {
    // agent: false: one connection per request, so no keep-alive socket outlives the pull
    const request = get(
      url,
      {
        agent: false,
        signal: options.signal,
        headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...headers },
      },
      (response) => {
        clearTimeout(timer);
        resolvePromise(response);
      },
    );
    const timer = setTimeout(() => {
      request.destroy(
        new StembotError(
          'DOWNLOAD_FAILED',
          `Download of ${entry.file} failed: no answer from ${url.host} within ${timeoutMs / 1000} s`,
        ),
      );
    }, timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

/** `bytes 100-199/1000` → {start: 100, total: 1000}; total null for `/*`. */
function parseContentRange(header: string | undefined): { start: number; total: number | null } | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === '*' ? null : Number(match[3]) };
}

/** A 416's `bytes *\/1000` → 1000. */
function unsatisfiedRangeTotal(header: string | undefined): number | null {
  const match = /^bytes \*\/(\d+)$/.exec(header?.trim() ?? '');
  return match ? Number(match[1]) : null;
}
