import { randomBytes } from 'node:crypto';
import { promises as dns, type LookupOptions } from 'node:dns';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { StembotError, type StembotErrorCode } from '../../pipeline/errors.js';
import { classifyAddress } from './ipRanges.js';

/**
 * Downloads a link a user sent, without letting the link reach the bot's own network (SSRF):
 *
 * - only http: and https: URLs without credentials, on every hop;
 * - the host name is resolved here and EVERY address it resolves to must be public (see `ipRanges.ts`);
 *   the connection is then pinned to the address that was checked, so a second DNS answer (rebinding)
 *   cannot send it elsewhere; Host and TLS SNI still carry the host name;
 * - redirects are followed by hand, each one checked the same way, up to `maxRedirects`;
 * - the body is streamed to a temporary file next to `destPath` and refused as soon as it passes
 *   `maxBytes` (or up front when Content-Length says so); renamed into place only when complete;
 * - an overall deadline and an idle timeout; no compression is asked for, so the cap counts real bytes.
 *
 * Nothing here decides what the file is: Content-Type is returned for logs only, the worker sniffs the
 * content with ffprobe.
 */

/** Resolves a host name to all of its addresses (family 4 or 6). */
export type HostLookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface FetchLinkOptions {
  /** Largest body accepted, bytes. */
  readonly maxBytes: number;
  /** Deadline for the whole download, redirects included, ms. */
  readonly timeoutMs: number;
  /** Longest wait for the connection, the headers or the next chunk, ms; default min(timeoutMs, 30 000). */
  readonly idleTimeoutMs?: number;
  /** Skip the address check entirely (`STEMBOT_ALLOW_PRIVATE_URLS=1`): tests and private deployments only. */
  readonly allowPrivate: boolean;
  /** Exact IP addresses allowed even though they are not public (tests: a local server on 127.0.0.1). */
  readonly allowAddresses?: readonly string[];
  /** Redirects followed before giving up; default 5. */
  readonly maxRedirects?: number;
  readonly userAgent?: string;
  /** Cancels the download; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** DNS resolution, for tests; default `dns.promises.lookup` with `all: true`. */
  readonly lookup?: HostLookup;
}

export interface FetchLinkResult {
  /** Bytes written to `destPath`. */
  readonly bytes: number;
  /** The URL the file came from, after redirects. */
  readonly finalUrl: string;
  /** As the server claimed it; for logs only, never trusted. */
  readonly contentType?: string;
}

export type LinkFetchErrorCode = Extract<
  StembotErrorCode,
  'URL_REFUSED' | 'INPUT_TOO_LARGE' | 'DOWNLOAD_FAILED'
>;

/**
 * Why a link could not be fetched. `message` is for the user. `transient` tells the worker whether a retry
 * may help: true for timeouts, stalls, connection failures, HTTP 408/425/429/5xx; false for refused URLs
 * (`URL_REFUSED`: scheme, credentials, non-public address, too many redirects), files over the cap
 * (`INPUT_TOO_LARGE`), other HTTP 4xx (404, 410, 403, ...), unknown hosts and TLS certificate errors.
 * `detail` says more for the logs (addresses, raw error codes) and is not meant for the user.
 */
export class LinkFetchError extends StembotError {
  constructor(
    override readonly code: LinkFetchErrorCode,
    message: string,
    readonly transient: boolean,
    readonly detail?: string,
  ) {
    super(code, message);
  }
}

export function isLinkFetchError(error: unknown): error is LinkFetchError {
  return error instanceof LinkFetchError;
}

const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TRANSIENT_STATUSES = new Set([408, 425, 429]);

const PRIVATE_ADDRESS_MESSAGE =
  'That link points to a private network address; I only fetch public http(s) links.';

/**
 * Downloads `url` to `destPath` (replacing it) under the rules above. Rejects with `LinkFetchError`, with
 * the signal's reason when `options.signal` aborts, or with a file system error writing next to `destPath`.
 */
export async function fetchLinkToFile(
  url: string,
  destPath: string,
  options: FetchLinkOptions,
): Promise<FetchLinkResult> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const part = join(dirname(destPath), `.${basename(destPath)}.${randomBytes(6).toString('hex')}.part`);
  try {
    let current = checkUrl(url, 'link');
    for (let redirects = 0; ; redirects++) {
      const target = await resolveChecked(current, options, signal, redirects > 0);
      const response = await openResponse(current, target, options, signal);
      const status = response.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        response.destroy(); // the body of a redirect is of no use
        if (redirects >= maxRedirects) {
          throw new LinkFetchError(
            'URL_REFUSED',
            `That link redirects too many times (more than ${maxRedirects}).`,
            false,
          );
        }
        const location = response.headers.location;
        if (!location) {
          throw new LinkFetchError('DOWNLOAD_FAILED', `That link redirects nowhere (HTTP ${status}).`, false);
        }
        current = checkUrl(resolveLocation(location, current), 'redirect');
        continue;
      }
      if (status < 200 || status > 299) {
        response.destroy();
        throw statusError(status, response.statusMessage);
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        response.destroy();
        throw tooLarge(options.maxBytes, `Content-Length ${declared}`);
      }
      const counter = new ByteCap(options.maxBytes);
      await pipeline(response, counter, createWriteStream(part, { flags: 'wx' }), { signal });
      await rename(part, destPath);
      return { bytes: counter.bytes, finalUrl: current.href, contentType: response.headers['content-type'] };
    }
  } catch (error) {
    await rm(part, { force: true });
    throw translateError(error, options, deadline);
  }
}

/** Parses and checks one hop's URL: http(s) only, no user name or password. */
function checkUrl(text: string, what: 'link' | 'redirect'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LinkFetchError('URL_REFUSED', "That doesn't look like a web link.", false, `${what}: ${text}`);
  }
  const where = what === 'link' ? 'That link' : 'That link redirects to something that';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LinkFetchError(
      'URL_REFUSED',
      `${where} isn't http or https; I only fetch public http(s) links.`,
      false,
      `${what} scheme ${url.protocol}`,
    );
  }
  if (url.username || url.password) {
    throw new LinkFetchError(
      'URL_REFUSED',
      `${where} contains a user name or password; I only fetch public links without credentials.`,
      false,
      `${what} with credentials`,
    );
  }
  return url;
}

function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    throw new LinkFetchError(
      'DOWNLOAD_FAILED',
      'That link redirects to an invalid address.',
      false,
      location,
    );
  }
}

interface Target {
  readonly address: string;
  readonly family: 4 | 6;
}

/** URL.hostname keeps the brackets of an IPv6 literal; net and the checks want the bare address. */
function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Resolves the host of `url` and checks every address; returns the one to connect to. */
async function resolveChecked(
  url: URL,
  options: FetchLinkOptions,
  signal: AbortSignal,
  redirected: boolean,
): Promise<Target> {
  const host = bareHost(url);
  const literal = isIP(host);
  let addresses: readonly { address: string; family: number }[];
  if (literal) {
    addresses = [{ address: host, family: literal }];
  } else {
    try {
      addresses = await abortable((options.lookup ?? defaultLookup)(host), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw dnsError(host, error);
    }
  }
  if (addresses.length === 0) throw dnsError(host, undefined);
  for (const { address } of addresses) {
    if (!addressAllowed(address, options)) {
      throw new LinkFetchError(
        'URL_REFUSED',
        PRIVATE_ADDRESS_MESSAGE,
        false,
        `${redirected ? 'redirect to ' : ''}${host} resolves to ${address} (${classifyAddress(address)})`,
      );
    }
  }
  const { address, family } = addresses[0];
  return { address, family: family === 6 ? 6 : 4 };
}

function addressAllowed(address: string, options: FetchLinkOptions): boolean {
  if (options.allowPrivate) return isIP(address) !== 0;
  return classifyAddress(address) === 'public' || (options.allowAddresses ?? []).includes(address);
}

const defaultLookup: HostLookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

function dnsError(host: string, error: unknown): LinkFetchError {
  const code = errorCode(error);
  // ENOTFOUND / ENODATA: the name does not exist; EAI_AGAIN, SERVFAIL and timeouts may pass.
  const permanent = code === 'ENOTFOUND' || code === 'ENODATA' || code === undefined;
  return new LinkFetchError(
    'DOWNLOAD_FAILED',
    permanent
      ? `I couldn't find the server ${host} of that link.`
      : `I couldn't look up the server ${host} of that link; please try again later.`,
    !permanent,
    `lookup ${host}: ${code ?? 'no addresses'}`,
  );
}

/** Sends the GET, connected to `target` whatever DNS says now; resolves with the response headers. */
function openResponse(
  url: URL,
  target: Target,
  options: FetchLinkOptions,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const idleMs = options.idleTimeoutMs ?? Math.min(options.timeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
  // Node asks with `all: true` when it races address families (autoSelectFamily), else for one address.
  const pinned: LookupFunction = (_hostname, lookupOptions: LookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [target]);
    else callback(null, target.address, target.family);
  };
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      host: bareHost(url), // Host header and SNI; the socket goes to `target` through `pinned`
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: {
        'user-agent': options.userAgent ?? 'stembot',
        accept: '*/*',
        'accept-encoding': 'identity', // the byte cap must count what lands on disk, no decompression bombs
      },
      agent: false, // a fresh socket per hop: no pooled connection to an address checked for another hop
      lookup: pinned,
      timeout: idleMs,
      signal,
    });
    let response: IncomingMessage | undefined;
    request.on('timeout', () => {
      const error = new LinkFetchError(
        'DOWNLOAD_FAILED',
        'The server of that link stopped answering; please try again later.',
        true,
        `idle for ${idleMs} ms`,
      );
      response?.destroy(error); // reaches the body pipeline with this error rather than a bare "aborted"
      request.destroy(error);
    });
    request.on('error', reject); // also keeps late errors (after the response) from going unhandled
    request.on('response', (res) => {
      response = res;
      resolve(res);
    });
    request.end();
  });
}

function statusError(status: number, statusMessage: string | undefined): LinkFetchError {
  const text = `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`;
  if (status >= 500 || TRANSIENT_STATUSES.has(status)) {
    return new LinkFetchError(
      'DOWNLOAD_FAILED',
      `The server of that link answered ${text}; please try again later.`,
      true,
      text,
    );
  }
  if (status === 401 || status === 403) {
    return new LinkFetchError(
      'DOWNLOAD_FAILED',
      `That link needs a login or refuses access (${text}).`,
      false,
      text,
    );
  }
  if (status === 404 || status === 410) {
    return new LinkFetchError('DOWNLOAD_FAILED', `There is nothing at that link (${text}).`, false, text);
  }
  return new LinkFetchError('DOWNLOAD_FAILED', `That link answered ${text}.`, false, text);
}

function tooLarge(maxBytes: number, detail: string): LinkFetchError {
  return new LinkFetchError(
    'INPUT_TOO_LARGE',
    `The file is larger than the ${formatSize(maxBytes)} limit.`,
    false,
    detail,
  );
}

/** 200 MiB → "200 MB" (the binary units people mean when they say MB). */
function formatSize(bytes: number): string {
  const [unit, size] =
    bytes >= 1 << 20
      ? ['MB', bytes / (1 << 20)]
      : bytes >= 1 << 10
        ? ['KB', bytes / (1 << 10)]
        : ['bytes', bytes];
  return `${Number(size.toFixed(1))} ${unit}`;
}

/** Passes chunks through, counting bytes; fails as soon as the count passes the cap. */
class ByteCap extends Transform {
  bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes)
      callback(tooLarge(this.maxBytes, `more than ${this.maxBytes} bytes streamed`));
    else callback(null, chunk);
  }
}

/** Network error codes a retry will not fix; any other network error counts as transient (see below). */
const PERMANENT_NETWORK_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_INVALID_URL',
  'ERR_INVALID_CHAR',
  'ERR_UNESCAPED_CHARACTERS',
]);

/** Turns whatever went wrong into a `LinkFetchError`, except a caller's abort and file system errors. */
function translateError(error: unknown, options: FetchLinkOptions, deadline: AbortSignal): unknown {
  if (error instanceof LinkFetchError) return error;
  if (options.signal?.aborted) return options.signal.reason;
  if (deadline.aborted) {
    return new LinkFetchError(
      'DOWNLOAD_FAILED',
      `The download took longer than ${Math.round(options.timeoutMs / 1000)} s; please try again later.`,
      true,
      `deadline of ${options.timeoutMs} ms`,
    );
  }
  const code = errorCode(error);
  if (isFileSystemError(error)) return error; // our disk, not the link: the worker's problem to report
  if (code && PERMANENT_NETWORK_CODES.has(code)) {
    const tls = !code.startsWith('ERR_INVALID') && !code.startsWith('ERR_UNESCAPED');
    return new LinkFetchError(
      'DOWNLOAD_FAILED',
      tls ? "That link's server has an invalid TLS certificate." : "I couldn't request that link.",
      false,
      code,
    );
  }
  // Resets, refusals, unreachable networks, TLS handshakes cut short: the server may be back later.
  return new LinkFetchError(
    'DOWNLOAD_FAILED',
    "I couldn't download from that link's server; please try again later.",
    true,
    `${code ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Errors from writing the temporary file carry a `path` (or a `syscall` of the fs kind). */
function isFileSystemError(error: unknown): boolean {
  const { path, syscall } = (error ?? {}) as { path?: unknown; syscall?: unknown };
  return typeof path === 'string' || syscall === 'open' || syscall === 'write' || syscall === 'rename';
}

/** Rejects with the signal's reason when it aborts first (dns.lookup itself cannot be cancelled). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The checks a download would make before connecting (scheme, credentials, every resolved address), without
 * fetching: lets a bot refuse a link at once instead of after a trip through the queue. Throws the same
 * {@link LinkFetchError}s; the worker checks again on every hop when it downloads.
 */
export async function checkLink(
  text: string,
  options: Pick<FetchLinkOptions, 'allowPrivate' | 'allowAddresses' | 'lookup'> & {
    readonly timeoutMs?: number;
  },
): Promise<void> {
  const url = checkUrl(text, 'link');
  if (options.allowPrivate) return;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  await resolveChecked(
    url,
    { ...options, maxBytes: 0, timeoutMs: options.timeoutMs ?? 10_000 },
    signal,
    false,
  );
}
