import { allocStereo, type Stereo } from '../../audio/stereo.js';
import { createRealFft, type RealFft } from '../../dsp/fft.js';
import { periodicHann } from '../../dsp/stft.js';
import type { Spectrogram } from './medianFilter.js';
import type { StepProgress } from './progress.js';

/**
 * A plain STFT for mask-based separation, with librosa's defaults: periodic Hann window of n samples, hop n/4,
 * centred frames with zero padding of n/2 on both sides, 1 + ⌊length/hop⌋ frames, bins 0..n/2.
 * The separators work in two passes so that no complex spectrogram is ever stored (a 4-minute song would need
 * hundreds of MB): pass 1 keeps magnitudes only; pass 2 recomputes each frame's spectrum, applies the mask and
 * overlap-adds, normalised by the summed squared window (the least-squares iSTFT, as librosa.istft).
 */
export interface StftGeometry {
  /** FFT size in samples (a size createRealFft accepts) */
  readonly size: number;
  /** hop in samples */
  readonly hop: number;
}

export function frameCount(length: number, hop: number): number {
  return length === 0 ? 0 : 1 + Math.floor(length / hop);
}

export function binCount(size: number): number {
  return size / 2 + 1;
}

/** Centre frequency of bin `bin` in Hz for an FFT of `size` points at `sampleRate`. */
export function binFrequency(bin: number, size: number, sampleRate: number): number {
  return (bin * sampleRate) / size;
}

class FrameTransform {
  readonly window: Float32Array;
  readonly frame: Float32Array;
  readonly spectrum: Float32Array;

  constructor(
    readonly fft: RealFft,
    readonly hop: number,
  ) {
    this.window = periodicHann(fft.size);
    this.frame = new Float32Array(fft.size);
    this.spectrum = new Float32Array(fft.size);
  }

  /** Spectrum (PFFFT ordered layout) of the windowed frame `t` of `x`. */
  analyze(x: Float32Array, t: number): Float32Array {
    const { window, frame } = this;
    const n = this.fft.size;
    const start = t * this.hop - n / 2;
    for (let i = 0; i < n; i++) {
      const p = start + i;
      frame[i] = p >= 0 && p < x.length ? x[p] * window[i] : 0;
    }
    this.fft.forward(frame, this.spectrum);
    return this.spectrum;
  }
}

/** |X| per (frame, bin) of both channels, frame-major. */
export async function magnitudes(
  audio: Stereo,
  geometry: StftGeometry,
  progress?: StepProgress,
): Promise<{ left: Spectrogram; right: Spectrogram }> {
  const transform = new FrameTransform(await createRealFft(geometry.size), geometry.hop);
  const frames = frameCount(audio.left.length, geometry.hop);
  const bins = binCount(geometry.size);
  const half = geometry.size / 2;
  const result = { left: new Float32Array(frames * bins), right: new Float32Array(frames * bins) };
  for (let t = 0; t < frames; t++) {
    for (const side of ['left', 'right'] as const) {
      const s = transform.analyze(audio[side], t);
      const out = result[side];
      const row = t * bins;
      out[row] = Math.abs(s[0]);
      out[row + half] = Math.abs(s[1]);
      for (let f = 1; f < half; f++) out[row + f] = Math.hypot(s[2 * f], s[2 * f + 1]);
    }
    await progress?.step(t + 1, frames);
  }
  return { left: { frames, bins, data: result.left }, right: { frames, bins, data: result.right } };
}

/**
 * Masked resynthesis: iSTFT(mask · STFT(x)) per channel. Masks are real gains per (frame, bin), frame-major,
 * with the geometry's frame and bin counts; pass the same array twice for a mask shared by both channels.
 */
export async function applyMasks(
  audio: Stereo,
  geometry: StftGeometry,
  masks: { readonly left: Float32Array; readonly right: Float32Array },
  progress?: StepProgress,
): Promise<Stereo> {
  const { size, hop } = geometry;
  const length = audio.left.length;
  const transform = new FrameTransform(await createRealFft(size), hop);
  const frames = frameCount(length, hop);
  const bins = binCount(size);
  const half = size / 2;
  const out = allocStereo(length);
  const { window, frame } = transform;
  // only the kept region [n/2, n/2 + length) of the padded signal is accumulated
  const sum = { left: new Float64Array(length), right: new Float64Array(length) };
  const envelope = new Float64Array(length);
  const scale = 1 / size; // PFFFT's inverse is unnormalised
  for (let t = 0; t < frames; t++) {
    const start = t * hop - half;
    for (const side of ['left', 'right'] as const) {
      const s = transform.analyze(audio[side], t);
      const mask = masks[side];
      const row = t * bins;
      s[0] *= mask[row];
      s[1] *= mask[row + half];
      for (let f = 1; f < half; f++) {
        const g = mask[row + f];
        s[2 * f] *= g;
        s[2 * f + 1] *= g;
      }
      transform.fft.inverse(s, frame);
      const acc = sum[side];
      for (let i = Math.max(0, -start); i < size && start + i < length; i++) {
        acc[start + i] += frame[i] * scale * window[i];
      }
    }
    for (let i = Math.max(0, -start); i < size && start + i < length; i++)
      envelope[start + i] += window[i] * window[i];
    await progress?.step(t + 1, frames);
  }
  for (const side of ['left', 'right'] as const) {
    const acc = sum[side];
    const target = out[side];
    // every kept sample lies under some window's non-zero part; the guard only protects against rounding
    for (let j = 0; j < length; j++) target[j] = envelope[j] > 1e-10 ? acc[j] / envelope[j] : 0;
  }
  return out;
}
