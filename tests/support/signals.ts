import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { seededRandom } from '../../src/fixtures/seededRandom.js';

/**
 * A seeded stereo test signal: a few partials plus noise, peak about 0.5, different in each channel.
 * Band-limited on purpose — the noise is a 4-sample moving average (zero response at Nyquist) and the ends fade
 * over 10 ms — so a model geometry that drops only the Nyquist bin (6144/3072) must give the signal back exactly.
 */
export function testSong(length: number, seed = 1): Stereo {
  const random = seededRandom(seed);
  const fade = Math.min(441, Math.floor(length / 2));
  const make = (phase: number) => {
    const x = new Float32Array(length);
    const taps = [random.next(), random.next(), random.next()];
    for (let i = 0; i < length; i++) {
      const t = i / 44100;
      const fresh = random.next();
      const noise = (taps[0] + taps[1] + taps[2] + fresh) / 4 - 0.5;
      taps.shift();
      taps.push(fresh);
      const envelope = Math.min(1, i / fade, (length - 1 - i) / fade);
      x[i] =
        envelope *
        (0.2 * Math.sin(2 * Math.PI * 220 * t + phase) +
          0.1 * Math.sin(2 * Math.PI * 1375 * t) +
          0.05 * Math.sin(2 * Math.PI * 6100 * t + 2 * phase) +
          0.2 * noise);
    }
    return x;
  };
  return { left: make(0), right: make(1) };
}
