import type { StepProgress } from './progress.js';

/**
 * Sliding-window medians over a spectrogram stored frame-major: value (frame t, bin f) at index t·bins + f.
 * Edges use scipy.ndimage's 'reflect' mode (d c b a | a b c d | d c b a), so a window never reads outside.
 */
export interface Spectrogram {
  readonly frames: number;
  readonly bins: number;
  /** length frames·bins, frame-major */
  readonly data: Float32Array;
}

/** scipy 'reflect': the mirror includes the edge sample; repeats for windows longer than the line. */
function reflect(i: number, length: number): number {
  const period = 2 * length;
  let m = i % period;
  if (m < 0) m += period;
  return m < length ? m : period - 1 - m;
}

/**
 * Median of `size` (odd) values centred on each point of one line (start `base`, step `stride`, `length` points),
 * written to the same positions of `out`. A sorted window is updated by one removal and one insertion per step:
 * O(size) per point, against O(size·log size) for sorting each window.
 */
function medianLine(
  src: Float32Array,
  out: Float32Array,
  base: number,
  stride: number,
  length: number,
  size: number,
  padded: Float32Array,
  window: Float32Array,
): void {
  const half = (size - 1) / 2;
  for (let i = 0; i < length + 2 * half; i++) padded[i] = src[base + reflect(i - half, length) * stride];
  for (let i = 0; i < size; i++) window[i] = padded[i];
  window.sort();
  out[base] = window[half];
  for (let i = 1; i < length; i++) {
    const leaving = padded[i - 1];
    const entering = padded[i - 1 + size];
    // find the leaving value (present by construction), then slide the entering one into place
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (window[mid] < leaving) lo = mid + 1;
      else hi = mid;
    }
    let p = lo;
    if (entering > leaving) {
      while (p + 1 < size && window[p + 1] < entering) {
        window[p] = window[p + 1];
        p++;
      }
    } else {
      while (p > 0 && window[p - 1] > entering) {
        window[p] = window[p - 1];
        p--;
      }
    }
    window[p] = entering;
    out[base + i * stride] = window[half];
  }
}

/** Median over `size` (odd) frames, for each bin: keeps what is steady in time (horizontal lines). */
export async function medianAlongTime(
  spec: Spectrogram,
  size: number,
  progress?: StepProgress,
): Promise<Float32Array> {
  const { frames, bins, data } = spec;
  const out = new Float32Array(data.length);
  if (frames === 0) return out;
  const padded = new Float32Array(frames + size);
  const window = new Float32Array(size);
  for (let f = 0; f < bins; f++) {
    medianLine(data, out, f, bins, frames, size, padded, window);
    await progress?.step(f + 1, bins);
  }
  return out;
}

/** Median over `size` (odd) bins, for each frame: keeps what is smooth across frequency (vertical lines). */
export async function medianAlongFrequency(
  spec: Spectrogram,
  size: number,
  progress?: StepProgress,
): Promise<Float32Array> {
  const { frames, bins, data } = spec;
  const out = new Float32Array(data.length);
  const padded = new Float32Array(bins + size);
  const window = new Float32Array(size);
  for (let t = 0; t < frames; t++) {
    medianLine(data, out, t * bins, 1, bins, size, padded, window);
    await progress?.step(t + 1, frames);
  }
  return out;
}
