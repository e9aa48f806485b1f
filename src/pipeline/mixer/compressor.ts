/**
 * Feed-forward dynamic range compressor after Giannoulis, Massberg & Reiss, "Digital Dynamic Range Compressor
 * Design — A Tutorial and Analysis", J. Audio Eng. Soc. 60(6), 2012 (below: GMR 2012): the gain computer with a
 * quadratic soft knee (their eq. 4) placed before a log-domain "smooth decoupled" peak detector (their eq. 17,
 * the arrangement of their Fig. 7), stereo-linked on max(|L|, |R|).
 *
 * Time constants follow GMR 2012 eq. 7: α = exp(−1/(τ·fs)). A one-pole smoother with that α covers 1 − 1/e
 * (63.2 %) of a step, in dB, after τ seconds, i.e. after τ·fs samples: y[n0 + k − 1] = (1 − α^k)·step.
 */
import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';

export interface CompressorSettings {
  /** Threshold T in dBFS (level of the per-sample peak |x|). */
  thresholdDb: number;
  /** Ratio R ≥ 1 (Infinity makes a limiter); 1 changes nothing. */
  ratio: number;
  /** Knee width W in dB, ≥ 0 (default 0: hard knee). */
  kneeDb?: number;
  /** Attack time constant τA in ms, ≥ 0 (default 5). */
  attackMs?: number;
  /** Release time constant τR in ms, ≥ 0 (default 50). */
  releaseMs?: number;
  /** Make-up gain M in dB added after the smoothing (default 0). */
  makeupDb?: number;
}

interface ResolvedSettings {
  readonly threshold: number;
  readonly ratio: number;
  readonly knee: number;
  readonly attackMs: number;
  readonly releaseMs: number;
  readonly makeup: number;
}

function resolve(settings: CompressorSettings): ResolvedSettings {
  const { thresholdDb, ratio, kneeDb = 0, attackMs = 5, releaseMs = 50, makeupDb = 0 } = settings;
  if (!Number.isFinite(thresholdDb))
    throw new RangeError(`compressor: threshold ${thresholdDb} dB must be finite`);
  if (!(ratio >= 1)) throw new RangeError(`compressor: ratio ${ratio} must be at least 1`);
  if (!(kneeDb >= 0 && Number.isFinite(kneeDb)))
    throw new RangeError(`compressor: knee ${kneeDb} dB must be ≥ 0`);
  if (!(attackMs >= 0 && Number.isFinite(attackMs))) {
    throw new RangeError(`compressor: attack ${attackMs} ms must be ≥ 0`);
  }
  if (!(releaseMs >= 0 && Number.isFinite(releaseMs))) {
    throw new RangeError(`compressor: release ${releaseMs} ms must be ≥ 0`);
  }
  if (!Number.isFinite(makeupDb)) throw new RangeError(`compressor: make-up ${makeupDb} dB must be finite`);
  return { threshold: thresholdDb, ratio, knee: kneeDb, attackMs, releaseMs, makeup: makeupDb };
}

/**
 * Gain reduction x_G − y_G ≥ 0 of the gain computer (GMR 2012 eq. 4) for input level x_G in dB:
 * 0 below the knee (2(x − T) ≤ −W), (1 − 1/R)·(x − T + W/2)²/(2W) inside it (2|x − T| < W), and
 * (1 − 1/R)·(x − T) above it, so that y_G = T + (x − T)/R there.
 */
function gainReduction(x: number, threshold: number, ratio: number, knee: number): number {
  const over = x - threshold;
  const slope = 1 - 1 / ratio; // 1 for R = Infinity
  // the edges belong to the straight parts, where the quadratic meets them (and W = 0 never reaches it)
  if (2 * over <= -knee) return 0;
  if (2 * over >= knee) return slope * over;
  const d = over + knee / 2;
  return (slope * d * d) / (2 * knee);
}

/**
 * The static curve: gain in dB that the compressor applies, once settled, to a signal whose peak level is
 * `inputDb` dBFS — the gain computer's y_G − x_G plus the make-up gain. 0 dB below the knee (with no make-up).
 */
export function compressorGainDb(inputDb: number, settings: CompressorSettings): number {
  const s = resolve(settings);
  return s.makeup - gainReduction(inputDb, s.threshold, s.ratio, s.knee);
}

/** GMR 2012 eq. 7: α = exp(−1/(τ·fs)); τ = 0 gives α = 0 (no smoothing). */
function smoothingCoefficient(timeMs: number, sampleRate: number): number {
  return timeMs === 0 ? 0 : Math.exp(-1 / ((timeMs / 1000) * sampleRate));
}

/**
 * Compresses a stereo signal (`sampleRate` in Hz; float64 inside, float32 out). Per sample n:
 *   x_G = 20·log10(max(|L|, |R|));  x_L = x_G − y_G (gain computer, soft knee);
 *   y1 = max(x_L, αR·y1 + (1 − αR)·x_L);  y_L = αA·y_L + (1 − αA)·y1   (smooth decoupled detector, eq. 17);
 *   gain = 10^((M − y_L)/20), applied to both channels.
 * The detector starts at rest (no gain reduction). Where y_L is 0 and M = 0 the gain is exactly 1, so quiet
 * passages (never above the knee) come out bit for bit unchanged.
 */
export function compress(
  audio: Stereo,
  settings: CompressorSettings,
  sampleRate: number = SAMPLE_RATE,
): Stereo {
  const { threshold, ratio, knee, attackMs, releaseMs, makeup } = resolve(settings);
  const { left, right } = audio;
  const n = left.length;
  if (right.length !== n) throw new RangeError(`channel lengths differ: ${n} vs ${right.length}`);
  const outLeft = new Float32Array(n);
  const outRight = new Float32Array(n);
  const attack = smoothingCoefficient(attackMs, sampleRate);
  const release = smoothingCoefficient(releaseMs, sampleRate);
  // Below the knee's lower edge the gain computer is 0: compare in the linear domain and skip the log.
  const kneeStart = ratio === 1 ? Infinity : 10 ** ((threshold - knee / 2) / 20);
  const dbToNeper = Math.LN10 / 20;
  const makeupGain = Math.exp(makeup * dbToNeper); // exactly 1 for M = 0
  let y1 = 0;
  let yL = 0;
  for (let i = 0; i < n; i++) {
    const l = left[i];
    const r = right[i];
    const peak = Math.max(Math.abs(l), Math.abs(r));
    const xL = peak > kneeStart ? gainReduction(20 * Math.log10(peak), threshold, ratio, knee) : 0;
    y1 = Math.max(xL, release * y1 + (1 - release) * xL);
    yL = attack * yL + (1 - attack) * y1;
    // A reduction under 1e-12 dB is a gain error under 1e-13, far below float32 resolution: end the decay
    // there instead of letting it run into denormal arithmetic over a long quiet stretch.
    if (yL < 1e-12) {
      yL = 0;
      if (y1 < 1e-12) y1 = 0;
    }
    const gain = yL === 0 ? makeupGain : Math.exp((makeup - yL) * dbToNeper);
    outLeft[i] = l * gain;
    outRight[i] = r * gain;
  }
  return { left: outLeft, right: outRight };
}
