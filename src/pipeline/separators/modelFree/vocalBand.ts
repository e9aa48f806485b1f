import { binFrequency } from './stft.js';

/**
 * A soft prior on where a voice's energy lies: a 4th-order high-pass shape at `lowHz` (bass and kick live below;
 * a sung fundamental rarely does) times a 2nd-order low-pass shape at `highHz` (above, mostly cymbals and air).
 * Gain per bin: 1 / (1 + (lowHz/f)^4) · 1 / (1 + (f/highHz)^2); 0 at DC.
 */
export interface VocalBand {
  readonly lowHz: number;
  readonly highHz: number;
}

/** Gain per bin 0..size/2 for an FFT of `size` points. */
export function vocalBandGains(band: VocalBand, size: number, sampleRate: number): Float32Array {
  const gains = new Float32Array(size / 2 + 1);
  for (let bin = 1; bin < gains.length; bin++) {
    const f = binFrequency(bin, size, sampleRate);
    gains[bin] = 1 / (1 + (band.lowHz / f) ** 4) / (1 + (f / band.highHz) ** 2);
  }
  return gains;
}
