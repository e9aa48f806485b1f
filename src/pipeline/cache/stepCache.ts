import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stereo } from '../audio/stereo.js';

/**
 * KaraFan's "GOD MODE" done right (spec §A.3, §F.18): step outputs are kept as exact float32 (not re-read through
 * 24-bit FLAC), under a key made of everything that determines them — the step, the engine and its weights, the
 * pass parameters, the code version and the hash of the step's input audio — so a stale file is never reused.
 * Size-capped; the least recently used entries go first.
 */
export interface StepCache {
  get(key: string): Promise<Stereo | undefined>;
  set(key: string, audio: Stereo): Promise<void>;
}

/** Bump when a change to the pipeline changes any step's output. */
export const PIPELINE_CACHE_VERSION = 'stembot-recipe-1';

export function hashAudio(audio: Stereo): string {
  const hash = createHash('sha256');
  hash.update(new Uint8Array(audio.left.buffer, audio.left.byteOffset, audio.left.byteLength));
  hash.update(new Uint8Array(audio.right.buffer, audio.right.byteOffset, audio.right.byteLength));
  return hash.digest('hex');
}

export function stepCacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify({ version: PIPELINE_CACHE_VERSION, ...parts }))
    .digest('hex');
}

export const noCache: StepCache = {
  get: async () => undefined,
  set: async () => undefined,
};

export class FileStepCache implements StepCache {
  private hits = 0;
  private misses = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  get stats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  async get(key: string): Promise<Stereo | undefined> {
    const path = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      this.misses++;
      return undefined;
    }
    const length = bytes.length >= 4 ? bytes.readUInt32LE(0) : -1;
    if (length < 0 || bytes.length !== 4 + 8 * length) {
      await rm(path, { force: true }); // torn or foreign file: drop it
      this.misses++;
      return undefined;
    }
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined); // LRU: a hit is a use
    this.hits++;
    const samples = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + 4, bytes.byteOffset + bytes.length),
    );
    return { left: samples.slice(0, length), right: samples.slice(length) };
  }

  async set(key: string, audio: Stereo): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const length = audio.left.length;
    const bytes = Buffer.alloc(4 + 8 * length);
    bytes.writeUInt32LE(length, 0);
    Buffer.from(audio.left.buffer, audio.left.byteOffset, audio.left.byteLength).copy(bytes, 4);
    Buffer.from(audio.right.buffer, audio.right.byteOffset, audio.right.byteLength).copy(
      bytes,
      4 + 4 * length,
    );
    const path = this.pathOf(key);
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, path); // readers never see a half-written entry
    await this.evict();
  }

  /** Deletes the least recently used entries until the cache fits its cap. */
  async evict(): Promise<void> {
    const names = (await readdir(this.dir)).filter((name) => name.endsWith('.f32'));
    const entries = await Promise.all(
      names.map(async (name) => {
        const info = await stat(join(this.dir, name)).catch(() => undefined);
        return { name, size: info?.size ?? 0, used: info?.mtimeMs ?? 0 };
      }),
    );
    let total = entries.reduce((sum, entry) => sum + entry.size, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const entry of entries) {
      if (total <= this.maxBytes) break;
      await rm(join(this.dir, entry.name), { force: true });
      total -= entry.size;
    }
  }

  private pathOf(key: string): string {
    return join(this.dir, `${key}.f32`);
  }
}
