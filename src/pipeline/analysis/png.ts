import { deflateSync } from 'node:zlib';

/** An 8-bit RGB picture: `pixels` is row-major, top row first, 3 bytes (R, G, B) per pixel, length width·height·3. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

/** A black picture of the given size (pixels). */
export function createRgbImage(width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`image size must be positive integers, got ${width}×${height}`);
  }
  return { width, height, pixels: new Uint8Array(width * height * 3) };
}

/** Paint the pixel at (x, y) if it lies inside the picture; outside it is ignored, so callers need not clip. */
export function setPixel(
  image: RgbImage,
  x: number,
  y: number,
  rgb: readonly [number, number, number],
): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const i = (y * image.width + x) * 3;
  image.pixels[i] = rgb[0];
  image.pixels[i + 1] = rgb[1];
  image.pixels[i + 2] = rgb[2];
}

/** Fill the rectangle [x, x+w) × [y, y+h), clipped to the picture. */
export function fillRect(
  image: RgbImage,
  x: number,
  y: number,
  w: number,
  h: number,
  rgb: readonly [number, number, number],
): void {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(image.width, x + w);
  const y1 = Math.min(image.height, y + h);
  for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) setPixel(image, xx, yy, rgb);
}

// CRC-32 (ISO 3309 / PNG spec annex D): reflected polynomial 0xEDB88320, table built once.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes` as PNG chunks use it (unsigned 32-bit). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** length (4) · type (4) · data · CRC over type + data (4), all big-endian. */
function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encode an RGB picture as a PNG file: 8-bit truecolour, no interlace. Each scanline takes the filter
 * (None, Sub or Up) with the smallest sum of absolute signed bytes, the PNG spec's cheap heuristic: spectrogram
 * rows are smooth, so Sub/Up shrink the file several-fold for little work.
 */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, pixels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`image size must be positive integers, got ${width}×${height}`);
  }
  const stride = width * 3;
  if (pixels.length !== stride * height) {
    throw new Error(
      `pixels has ${pixels.length} bytes, expected ${stride * height} for ${width}×${height} RGB`,
    );
  }

  const raw = new Uint8Array((stride + 1) * height);
  const candidates = [new Uint8Array(stride), new Uint8Array(stride), new Uint8Array(stride)];
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : undefined;
    const [none, sub, up] = candidates;
    let best = 0;
    let bestScore = Infinity;
    for (let f = 0; f < 3; f++) {
      const out = candidates[f];
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const left = i >= 3 ? row[i - 3] : 0;
        const top = above ? above[i] : 0;
        const v = (row[i] - (f === 0 ? 0 : f === 1 ? left : top)) & 0xff;
        out[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    const base = y * (stride + 1);
    raw[base] = best; // filter type byte: 0 None, 1 Sub, 2 Up
    raw.set(best === 0 ? none : best === 1 ? sub : up, base + 1);
  }

  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace

  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
