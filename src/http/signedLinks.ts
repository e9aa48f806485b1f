import { createHmac, timingSafeEqual } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * Signed, expiring download links for results too big for a chat (platforms-and-anchors §4):
 * `/download/<jobId>/<file>?exp=<unix seconds>&sig=<base64url HMAC-SHA256(secret, "jobId|file|exp")>`.
 * The files live at `<downloads root>/<jobId>/<file>`; nothing else under the root is reachable.
 */

/** Longest a link may live: a day, so a leaked link stops working soon and files can be cleaned up. */
export const MAX_LINK_LIFETIME_S = 86_400;

/** Shortest accepted secret: HMAC with a guessable key signs nothing. */
export const MIN_SECRET_LENGTH = 16;

/** URL path prefix every download link starts with. */
export const DOWNLOAD_PREFIX = '/download/';

/** Job ids: what BullMQ and our dedup keys produce; no dots at the start, so never `.` or `..`. */
const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * File names: song titles in any script with their punctuation, minus path separators, `|` (the field separator
 * of the signed message), `%`, the characters Windows refuses in names, control and format characters; no
 * leading or trailing dot or space, and never `..` anywhere.
 */
const FILE_NAME_PATTERN = /^(?![.\s])[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}/\\|%"*:<>?#]{1,200}(?<![.\s])$/u;

export interface SignDownloadParams {
  secret: string;
  jobId: string;
  file: string;
  /** Expiry, unix seconds; at most {@link MAX_LINK_LIFETIME_S} after `now`. */
  expiresAt: number;
  /** Current time, unix seconds (tests); defaults to the clock. */
  now?: number;
}

export interface VerifyDownloadParams {
  secret: string;
  jobId: string;
  file: string;
  /** The `exp` query parameter as received. */
  exp: string | null;
  /** The `sig` query parameter as received. */
  sig: string | null;
  now?: number;
}

export type VerifyFailure =
  /** Malformed link, wrong signature, or a lifetime no signer would have issued. */
  | 'forbidden'
  /** Genuine link whose time is up. */
  | 'expired';

export type VerifyResult =
  { ok: true; jobId: string; file: string; expiresAt: number } | { ok: false; reason: VerifyFailure };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function isSafeJobId(jobId: string): boolean {
  return JOB_ID_PATTERN.test(jobId) && !jobId.includes('..');
}

export function isSafeFileName(file: string): boolean {
  return FILE_NAME_PATTERN.test(file) && !file.includes('..');
}

function assertSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The download link secret must be at least ${MIN_SECRET_LENGTH} characters long`);
  }
}

function mac(secret: string, jobId: string, file: string, exp: number): Buffer {
  return createHmac('sha256', secret).update(`${jobId}|${file}|${exp}`, 'utf8').digest();
}

/**
 * Signs a download path (no origin; see {@link signedDownloadUrl}). Throws on unsafe names, on an expiry in the
 * past and on one more than {@link MAX_LINK_LIFETIME_S} ahead.
 */
export function signDownload({
  secret,
  jobId,
  file,
  expiresAt,
  now = nowSeconds(),
}: SignDownloadParams): string {
  assertSecret(secret);
  if (!isSafeJobId(jobId)) throw new Error(`Unsafe job id for a download link: ${JSON.stringify(jobId)}`);
  if (!isSafeFileName(file)) throw new Error(`Unsafe file name for a download link: ${JSON.stringify(file)}`);
  if (!Number.isSafeInteger(expiresAt)) throw new Error('expiresAt must be whole unix seconds');
  if (expiresAt <= now) throw new Error('expiresAt is not in the future');
  if (expiresAt - now > MAX_LINK_LIFETIME_S) {
    throw new Error(`Download links live at most ${MAX_LINK_LIFETIME_S} s (asked ${expiresAt - now} s)`);
  }
  const sig = mac(secret, jobId, file, expiresAt).toString('base64url');
  return `${DOWNLOAD_PREFIX}${encodeURIComponent(jobId)}/${encodeURIComponent(file)}?exp=${expiresAt}&sig=${sig}`;
}

/** {@link signDownload} joined to the public origin (a path prefix of a reverse proxy is kept). */
export function signedDownloadUrl(publicUrl: string, params: SignDownloadParams): string {
  return publicUrl.replace(/\/+$/, '') + signDownload(params);
}

/**
 * Checks a link's names, signature (constant-time) and expiry. The signature is checked first, so only a
 * genuine link learns that it expired.
 */
export function verifyDownload({
  secret,
  jobId,
  file,
  exp,
  sig,
  now = nowSeconds(),
}: VerifyDownloadParams): VerifyResult {
  assertSecret(secret);
  if (!isSafeJobId(jobId) || !isSafeFileName(file)) return { ok: false, reason: 'forbidden' };
  if (exp === null || !/^\d{1,12}$/.test(exp)) return { ok: false, reason: 'forbidden' };
  if (sig === null || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, reason: 'forbidden' };
  const expiresAt = Number(exp);
  const expected = mac(secret, jobId, file, expiresAt);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'forbidden' };
  }
  // A validly signed lifetime beyond the cap means the signing rules were bypassed: refuse it.
  if (expiresAt - now > MAX_LINK_LIFETIME_S) return { ok: false, reason: 'forbidden' };
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, jobId, file, expiresAt };
}

/**
 * `<root>/<jobId>/<file>`, or null when the names are unsafe or the result would leave the root.
 * Symbolic links are the caller's concern (resolve them and check again with {@link isInside}).
 */
export function resolveDownloadPath(root: string, jobId: string, file: string): string | null {
  if (!isSafeJobId(jobId) || !isSafeFileName(file)) return null;
  const absoluteRoot = resolve(root);
  const target = resolve(absoluteRoot, jobId, file);
  return isInside(absoluteRoot, target) ? target : null;
}

/** Whether `target` is strictly below `root` (both absolute). */
export function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
