import type { Stereo } from '../audio/stereo.js';

/**
 * Global SDR in dB over a whole stereo signal: 10·log10(Σ ref² / Σ (ref − est)²), the figure MVSEP-style
 * leaderboards (and the dataset README's reference points) use. Equal lengths required.
 */
export function globalSdr(reference: Stereo, estimate: Stereo): number {
  if (reference.left.length !== estimate.left.length) {
    throw new RangeError(`lengths differ: ${reference.left.length} vs ${estimate.left.length}`);
  }
  let signal = 0;
  let error = 0;
  for (const [ref, est] of [
    [reference.left, estimate.left],
    [reference.right, estimate.right],
  ] as const) {
    for (let i = 0; i < ref.length; i++) {
      signal += ref[i] * ref[i];
      const d = ref[i] - est[i];
      error += d * d;
    }
  }
  return 10 * Math.log10(signal / error);
}
