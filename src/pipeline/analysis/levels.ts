import type { Stereo } from '../audio/stereo.js';

/** Peak and RMS over both channels, in dBFS (−Infinity for digital silence). */
export interface StemLevels {
  readonly peakDb: number;
  readonly rmsDb: number;
}

export function stemLevels(audio: Stereo): StemLevels {
  let peak = 0;
  let energy = 0;
  for (const channel of [audio.left, audio.right]) {
    for (let i = 0; i < channel.length; i++) {
      const v = channel[i];
      energy += v * v;
      const magnitude = Math.abs(v);
      if (magnitude > peak) peak = magnitude;
    }
  }
  const count = audio.left.length * 2;
  const rms = count > 0 ? Math.sqrt(energy / count) : 0;
  return { peakDb: 20 * Math.log10(peak), rmsDb: 20 * Math.log10(rms) };
}
