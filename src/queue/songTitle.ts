import { basename, extname } from 'node:path';

import type { JobSource } from './jobSchema.js';

/**
 * A readable name for captions and file names: the title the platform read from the tags, else the file's name
 * without extension, else the URL's last part.
 */
export function songTitle(source: JobSource): string {
  const tagged = source.kind === 'platform-file' ? source.title?.trim() : undefined;
  const raw = source.fileName || (source.kind === 'url' ? lastPathPart(source.url) : '');
  const title = (tagged || basename(raw, extname(raw)))
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
    .replace(/[\u0000-\u001f<>:"/\\|?*]+/g, ' ')
    .trim()
    .slice(0, 80);
  return title || 'song';
}

function lastPathPart(url: string): string {
  const part = new URL(url).pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // not valid percent-encoding: show it as it is
  }
}
