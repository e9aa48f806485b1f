import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** spec §C.1: UVR identifies a model by the MD5 of its last 10,240,000 bytes (the whole file if smaller). */
export const UVR_HASH_TAIL_BYTES = 10_000 * 1024;

export async function uvrHash(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const start = Math.max(0, size - UVR_HASH_TAIL_BYTES);
    const hash = createHash('md5');
    const buffer = Buffer.alloc(1 << 20);
    for (let position = start; position < size;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, size - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await file.close();
  }
}
