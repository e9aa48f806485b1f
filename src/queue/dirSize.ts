import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Total size in bytes of the regular files under `dir`, recursively (symbolic links are not followed).
 * A missing folder is 0 bytes: the cache may not have been created yet. Files that vanish while we walk (the step
 * cache evicts concurrently) are skipped rather than failing the whole walk.
 */
export async function dirSize(dir: string): Promise<number> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isGone(error)) return 0;
    throw error;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      total += await dirSize(path);
    } else if (entry.isFile()) {
      try {
        total += (await stat(path)).size;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    }
  }
  return total;
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
