import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { formatBytes } from '../../format/formatBytes.js';
import { StembotError } from '../../pipeline/errors.js';
import type { SourceResolver } from '../delivery.js';
import type { JobSource } from '../jobSchema.js';
import { fetchLinkToFile } from './fetchLink.js';

export interface FetchSourceOptions {
  readonly resolvers: ReadonlyMap<string, SourceResolver>;
  readonly maxInputBytes: number;
  readonly downloadTimeoutMs: number;
  /** STEMBOT_ALLOW_PRIVATE_URLS: tests and private deployments only */
  readonly allowPrivateUrls: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Downloads a job's source (a link, or a platform file resolved at job time) into `folder` as `name`; returns
 * the file path. Size limits apply to both; a link is checked against private addresses, the platform's own
 * API (the operator's configured root, maybe a local server) is not.
 */
export async function fetchSource(
  source: JobSource,
  folder: string,
  name: string,
  options: FetchSourceOptions,
): Promise<string> {
  const path = join(folder, name);
  const fetchOptions = {
    maxBytes: options.maxInputBytes,
    timeoutMs: options.downloadTimeoutMs,
    allowPrivate: options.allowPrivateUrls,
    signal: options.signal,
  };
  if (source.kind === 'url') {
    await fetchLinkToFile(source.url, path, fetchOptions);
    return path;
  }
  const resolver = options.resolvers.get(source.platform);
  if (!resolver) throw new Error(`no source resolver for platform "${source.platform}"`);
  const resolved = await resolver.resolveSource(source.fileId);
  if (resolved.kind === 'path') {
    const { size } = await stat(resolved.path);
    if (size > options.maxInputBytes) throw tooLargeInput(size, options.maxInputBytes);
    await copyFile(resolved.path, path);
    return path;
  }
  await fetchLinkToFile(resolved.url, path, { ...fetchOptions, allowPrivate: true });
  return path;
}

function tooLargeInput(size: number, limit: number): StembotError {
  return new StembotError(
    'INPUT_TOO_LARGE',
    `This file is ${formatBytes(size)}; the largest song I take is ${formatBytes(limit)}.`,
  );
}
