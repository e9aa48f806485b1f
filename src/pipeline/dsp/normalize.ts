/**
 * Recipe step 1, Normalize (spec §A.2 step 1, §F.12; KaraFan v1.3 `Normalize`): remove one DC value for both
 * channels, then bring the absolute peak over both channels to −1 dBFS.
 */
import type { Stereo } from '../audio/stereo.js';

/** spec §A.2 step 1: the peak goes to −1 dBFS, 10^(−1/20) ≈ 0.891251. */
export const NORMALIZE_PEAK_DB = -1;

/**
 * Returns a new normalized signal. KaraFan does this on the float32 array in place, in three float32 steps:
 * `audio -= mean(audio)`, `audio /= max_peak`, `audio *= 10^(dB/20)`; each step is rounded to float32 here too,
 * so the peak comes out as exactly float32(10^(peakDb/20)). The mean is taken in float64 (numpy's float32
 * pairwise sum differs from it by rounding only). If the peak is 0 (digital silence) only the DC is removed.
 */
export function normalize(audio: Stereo, peakDb: number = NORMALIZE_PEAK_DB): Stereo {
  const { left, right } = audio;
  const count = left.length + right.length;
  let sum = 0;
  for (let i = 0; i < left.length; i++) sum += left[i];
  for (let i = 0; i < right.length; i++) sum += right[i];
  // spec §F.12: ONE DC value, the mean over all samples of both channels (not one per channel).
  const mean = Math.fround(count > 0 ? sum / count : 0);

  const outLeft = new Float32Array(left.length);
  const outRight = new Float32Array(right.length);
  let peak = 0;
  for (let i = 0; i < left.length; i++) {
    outLeft[i] = left[i] - mean;
    peak = Math.max(peak, Math.abs(outLeft[i]));
  }
  for (let i = 0; i < right.length; i++) {
    outRight[i] = right[i] - mean;
    peak = Math.max(peak, Math.abs(outRight[i]));
  }

  if (peak > 0) {
    const target = Math.fround(10 ** (peakDb / 20)); // numpy 2 applies a Python float to float32 data as float32
    for (const ch of [outLeft, outRight]) {
      for (let i = 0; i < ch.length; i++) ch[i] = Math.fround(ch[i] / peak) * target;
    }
  }
  return { left: outLeft, right: outRight };
}
