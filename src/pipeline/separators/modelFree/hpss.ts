import { medianAlongFrequency, medianAlongTime, type Spectrogram } from './medianFilter.js';
import type { StepProgress } from './progress.js';

/**
 * Median-filtering harmonic–percussive separation (FitzGerald 2010). On a magnitude spectrogram, a median over
 * time estimates the steady ("harmonic") part H and a median over frequency the broadband ("percussive") part P;
 * the soft mask of the harmonic part is H^p / (H^p + P^p) (librosa.util.softmask). Which sources count as steady
 * depends on the resolution: at a long FFT (0.37 s) a voice's vibrato and glides smear it across frames, so it
 * lands in P with the drums, while held notes stay in H; at a short FFT (46 ms) the voice is steady and the
 * drums are not. The engine uses both (Tachibana's two-stage HPSS).
 */
export interface HpssSettings {
  /** median length along time, in frames (odd) */
  readonly timeFrames: number;
  /** median length along frequency, in bins (odd) */
  readonly frequencyBins: number;
  /** mask exponent p: 1 = ratio of magnitudes, 2 = Wiener-like ratio of powers */
  readonly power: number;
}

/** Which part the mask keeps. */
export type HpssPart = 'harmonic' | 'percussive';

/**
 * Soft mask in [0, 1] per (frame, bin), same layout as `spec`. Where H = P = 0 (silence) the mask is 0, so
 * silence maps to silence and nothing divides by zero. Steps: time medians, then frequency medians.
 */
export async function hpssMask(
  spec: Spectrogram,
  settings: HpssSettings,
  part: HpssPart,
  progress?: StepProgress,
): Promise<Float32Array> {
  const harmonic = await medianAlongTime(spec, settings.timeFrames, progress);
  progress?.next();
  const percussive = await medianAlongFrequency(spec, settings.frequencyBins, progress);
  const p = settings.power;
  const mask = harmonic; // reused in place
  for (let i = 0; i < mask.length; i++) {
    const h = p === 1 ? harmonic[i] : harmonic[i] ** p;
    const q = p === 1 ? percussive[i] : percussive[i] ** p;
    const total = h + q;
    const kept = part === 'harmonic' ? h : q;
    mask[i] = total > 0 ? kept / total : 0;
  }
  return mask;
}
