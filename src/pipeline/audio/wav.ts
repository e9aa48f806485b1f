import { StembotError } from '../errors.js';
import { SAMPLE_RATE, type Stereo } from './stereo.js';

/**
 * Pure-JS RIFF/WAVE writer and reader for the three sample formats the product writes: 32-bit float, 16-bit
 * and 24-bit PCM. No ffmpeg, so WAV output is exact and cheap, and tests can make and check inputs bit for
 * bit.
 */
export type WavFormat = 'f32' | 's16' | 's24';

export interface DecodedWav {
  readonly audio: Stereo;
  readonly sampleRate: number;
  readonly format: WavFormat;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const BYTES_PER_SAMPLE: Record<WavFormat, number> = { f32: 4, s16: 2, s24: 3 };
const MAX_RIFF_BYTES = 0xffffffff;

/**
 * Integer scaling of spec §E.2 (soundfile's, VERIFIED there):
 * clamp(round(x·2^(bits−1)), −2^(bits−1), 2^(bits−1)−1). Values ≥ 1 clip to the top code and never wrap.
 * Ties round to even, as libsndfile's lrintf does; NaN becomes 0.
 */
export function toInt16(x: number): number {
  return quantize(x, 32768);
}

export function toInt24(x: number): number {
  return quantize(x, 8388608);
}

function quantize(x: number, scale: number): number {
  const v = x * scale;
  if (!(v > -scale)) return Number.isNaN(v) ? 0 : -scale;
  if (v >= scale - 1) return scale - 1;
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A stereo WAV file: tag 3 (float, with the fact chunk non-PCM formats need) or 1 (PCM, 16 or 24 bits). */
export function encodeWav(audio: Stereo, format: WavFormat, sampleRate: number = SAMPLE_RATE): Uint8Array {
  const { left, right } = audio;
  const frames = left.length;
  if (right.length !== frames) throw new RangeError(`channel lengths differ: ${frames} vs ${right.length}`);
  const isFloat = format === 'f32';
  const sampleBytes = BYTES_PER_SAMPLE[format];
  const blockAlign = 2 * sampleBytes;
  const dataBytes = frames * blockAlign;
  const fmtBytes = isFloat ? 18 : 16;
  const headerBytes = 12 + (8 + fmtBytes) + (isFloat ? 12 : 0) + 8;
  if (headerBytes + dataBytes > MAX_RIFF_BYTES) {
    throw new StembotError(
      'OUTPUT_FAILED',
      'The audio is too long for a WAV file (4 GB at most). Choose FLAC instead.',
    );
  }

  const bytes = new Uint8Array(headerBytes + dataBytes);
  const view = new DataView(bytes.buffer);
  let o = 0;
  const tag = (text: string): void => {
    for (let i = 0; i < 4; i++) bytes[o + i] = text.charCodeAt(i);
    o += 4;
  };
  const u32 = (value: number): void => {
    view.setUint32(o, value, true);
    o += 4;
  };
  const u16 = (value: number): void => {
    view.setUint16(o, value, true);
    o += 2;
  };

  tag('RIFF');
  u32(bytes.length - 8);
  tag('WAVE');
  tag('fmt ');
  u32(fmtBytes);
  u16(isFloat ? FORMAT_FLOAT : FORMAT_PCM);
  u16(2);
  u32(sampleRate);
  u32(sampleRate * blockAlign);
  u16(blockAlign);
  u16(sampleBytes * 8);
  if (isFloat) {
    u16(0); // cbSize: no extension
    tag('fact');
    u32(4);
    u32(frames);
  }
  tag('data');
  u32(dataBytes);

  if (format === 'f32') {
    for (let i = 0; i < frames; i++, o += 8) {
      view.setFloat32(o, left[i], true);
      view.setFloat32(o + 4, right[i], true);
    }
  } else if (format === 's16') {
    for (let i = 0; i < frames; i++, o += 4) {
      view.setInt16(o, toInt16(left[i]), true);
      view.setInt16(o + 2, toInt16(right[i]), true);
    }
  } else {
    for (let i = 0; i < frames; i++, o += 6) {
      writeInt24(bytes, o, toInt24(left[i]));
      writeInt24(bytes, o + 3, toInt24(right[i]));
    }
  }
  return bytes;
}

function writeInt24(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >> 8) & 0xff;
  bytes[offset + 2] = (value >> 16) & 0xff;
}

/** Reads mono or stereo WAV in the formats encodeWav writes (or WAVE_FORMAT_EXTENSIBLE); mono → [x, x]. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number): string => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || text(0) !== 'RIFF' || text(8) !== 'WAVE') throw badWav('no RIFF/WAVE header');

  let fmt: { tag: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: { offset: number; size: number } | undefined;
  for (let o = 12; o + 8 <= bytes.length && !data;) {
    const id = text(o);
    const size = view.getUint32(o + 4, true);
    const body = o + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw badWav('short fmt chunk');
      let tag = view.getUint16(body, true);
      if (tag === FORMAT_EXTENSIBLE && size >= 40) tag = view.getUint16(body + 24, true); // sub-format GUID
      fmt = {
        tag,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      // Streamed WAVs may declare a wrong size: read what is there, in whole frames (below).
      data = { offset: body, size: Math.min(size, bytes.length - body) };
    }
    o = body + size + (size % 2); // chunks are padded to even sizes
  }
  if (!fmt) throw badWav('no fmt chunk');
  if (!data) throw badWav('no data chunk');

  const format = wavFormatOf(fmt.tag, fmt.bits);
  if (!format) throw badWav(`unsupported sample format (tag ${fmt.tag}, ${fmt.bits} bits)`);
  if (fmt.channels !== 1 && fmt.channels !== 2) throw badWav(`${fmt.channels} channels (1 or 2 supported)`);
  const sampleBytes = BYTES_PER_SAMPLE[format];
  const frames = Math.floor(data.size / (sampleBytes * fmt.channels));
  const read = sampleReader(format, view, bytes);

  const left = new Float32Array(frames);
  if (fmt.channels === 1) {
    for (let i = 0; i < frames; i++) left[i] = read(data.offset + i * sampleBytes);
    return { audio: { left, right: left.slice() }, sampleRate: fmt.sampleRate, format };
  }
  const right = new Float32Array(frames);
  for (let i = 0, o = data.offset; i < frames; i++, o += 2 * sampleBytes) {
    left[i] = read(o);
    right[i] = read(o + sampleBytes);
  }
  return { audio: { left, right }, sampleRate: fmt.sampleRate, format };
}

function wavFormatOf(tag: number, bits: number): WavFormat | undefined {
  if (tag === FORMAT_FLOAT && bits === 32) return 'f32';
  if (tag === FORMAT_PCM && bits === 16) return 's16';
  if (tag === FORMAT_PCM && bits === 24) return 's24';
  return undefined;
}

function sampleReader(format: WavFormat, view: DataView, bytes: Uint8Array): (offset: number) => number {
  switch (format) {
    case 'f32':
      return (o) => view.getFloat32(o, true);
    case 's16':
      return (o) => view.getInt16(o, true) / 32768;
    case 's24':
      // Assemble the top byte signed: (b2 << 24) >> 8 sign-extends.
      return (o) => (((bytes[o + 2] << 24) >> 8) | (bytes[o + 1] << 8) | bytes[o]) / 8388608;
  }
}

function badWav(reason: string): StembotError {
  const error = new StembotError(
    'INPUT_UNDECODABLE',
    'This WAV file could not be read: it may be damaged or use an unusual sample format. ' +
      'Please convert it to 16-bit or 32-bit float WAV, or FLAC, and send it again.',
  );
  error.cause = new Error(reason);
  return error;
}
