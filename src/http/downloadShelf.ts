import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { isSafeFileName, MAX_LINK_LIFETIME_S, nowSeconds, signedDownloadUrl } from './signedLinks.js';

/** A file put up for download, with the link that reaches it. */
export interface PublishedFile {
  readonly name: string;
  readonly url: string;
  readonly bytes: number;
  /** unix seconds */
  readonly expiresAt: number;
}

export interface DownloadShelfOptions {
  /** the folder the status server serves `/download/<jobId>/<file>` from */
  readonly root: string;
  readonly secret: string;
  /** the public origin of the status server, e.g. https://stems.example.org */
  readonly publicUrl: string;
  /** how long links live and files stay, seconds; at most a day (signedLinks) */
  readonly lifetimeS?: number;
}

/**
 * Where results too big for a chat wait to be fetched (platforms §4): copies files under `<root>/<jobId>/`,
 * signs expiring links to them, and sweeps folders whose links have all expired. The worker's status server
 * serves the root (statusServer `downloads`).
 */
export class DownloadShelf {
  readonly root: string;
  readonly #secret: string;
  readonly #publicUrl: string;
  readonly #lifetimeS: number;

  constructor(options: DownloadShelfOptions) {
    this.root = options.root;
    this.#secret = options.secret;
    this.#publicUrl = options.publicUrl;
    this.#lifetimeS = Math.min(options.lifetimeS ?? MAX_LINK_LIFETIME_S, MAX_LINK_LIFETIME_S);
  }

  /** Copies `files` onto the shelf and returns a signed link to each. */
  async publish(
    jobId: string,
    files: readonly { readonly path: string; readonly name: string }[],
  ): Promise<PublishedFile[]> {
    const folder = join(this.root, jobId);
    await mkdir(folder, { recursive: true });
    const now = nowSeconds();
    const expiresAt = now + this.#lifetimeS;
    const published: PublishedFile[] = [];
    for (const file of files) {
      const name = shelfName(file.name);
      await copyFile(file.path, join(folder, name));
      const { size } = await stat(join(folder, name));
      const url = signedDownloadUrl(this.#publicUrl, {
        secret: this.#secret,
        jobId,
        file: name,
        expiresAt,
        now,
      });
      published.push({ name, url, bytes: size, expiresAt });
    }
    return published;
  }

  /** Removes job folders last written longer ago than the link lifetime; returns how many went. */
  async sweep(nowMs: number = Date.now()): Promise<number> {
    let removed = 0;
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const folder = join(this.root, entry.name);
      const { mtimeMs } = await stat(folder);
      if (nowMs - mtimeMs <= this.#lifetimeS * 1000) continue;
      await rm(folder, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}

/** A file name the signed links accept: the characters they refuse become "_". */
export function shelfName(name: string): string {
  if (isSafeFileName(name)) return name;
  const cleaned = name
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}/\\|%"*:<>?#]/gu, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(0, 200);
  return isSafeFileName(cleaned) ? cleaned : 'stem';
}
