import type { Spectrogram } from './medianFilter.js';

/**
 * (|L| + |R|) / 2 per (frame, bin): one magnitude picture of both channels, so a single mask serves both and the
 * stereo image of what is kept stays as it was. Written into `left`'s array (the right one can then be dropped).
 */
export function midMagnitude(left: Spectrogram, right: Spectrogram): Spectrogram {
  const out = left.data;
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * (out[i] + right.data[i]);
  return left;
}
