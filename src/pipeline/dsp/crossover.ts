/**
 * The v1.3 SRS crossover (spec §D.3 step 3): vocals = LP(narrow-band pass) + HP(SRS pass), each a 2nd-order
 * Butterworth run forward and backward (scipy filtfilt), so each branch is −6.02 dB at the cutoff, zero phase.
 */
import type { Stereo } from '../audio/stereo.js';
import { butter2, filtfilt } from './butterworth.js';

/** spec §D.3 step 3: v1.3 crosses over at 14 kHz (v1.0 used 12 kHz and ¾·HP; not this). */
export const SRS_CROSSOVER_HZ = 14000;

function crossoverChannel(narrow: Float32Array, srs: Float32Array, cutoffHz: number): Float32Array {
  const low = butter2('lowpass', cutoffHz);
  const high = butter2('highpass', cutoffHz);
  const lp = filtfilt(low.b, low.a, narrow);
  const hp = filtfilt(high.b, high.a, srs);
  const out = new Float32Array(narrow.length);
  for (let i = 0; i < out.length; i++) out[i] = lp[i] + hp[i]; // sum in float64, round once
  return out;
}

/**
 * LP(narrow) + HP(srs) per channel. Both inputs must have the same length: fit the SRS pass to the narrow-band
 * pass first (spec §D.3 step 2, §F.19). Because |H_lp|² + |H_hp|² = 1 for Butterworth, the result equals
 * narrow + HP(srs − narrow) away from the edges.
 */
export function srsCrossover(narrow: Stereo, srs: Stereo, cutoffHz: number = SRS_CROSSOVER_HZ): Stereo {
  const n = narrow.left.length;
  if (narrow.right.length !== n || srs.left.length !== n || srs.right.length !== n) {
    throw new RangeError(
      `srsCrossover: lengths differ (narrow ${n}/${narrow.right.length}, srs ${srs.left.length}/${srs.right.length})`,
    );
  }
  return {
    left: crossoverChannel(narrow.left, srs.left, cutoffHz),
    right: crossoverChannel(narrow.right, srs.right, cutoffHz),
  };
}
