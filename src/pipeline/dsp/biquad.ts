/**
 * Second-order IIR sections ("biquads") from Robert Bristow-Johnson's Audio EQ Cookbook
 * (https://www.w3.org/TR/audio-eq-cookbook/), their analytic magnitude response, and a float64 cascade runner.
 * The designs are bilinear transforms of the analog prototypes with the frequency pre-warped at the
 * centre/corner, so the stated gain is exact there.
 */
import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';

/** Normalised biquad, a0 = 1: y[n] = b0 x[n] + b1 x[n−1] + b2 x[n−2] − a1 y[n−1] − a2 y[n−2] */
export interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

function checkFrequency(what: string, freqHz: number, sampleRate: number): void {
  if (!(sampleRate > 0 && Number.isFinite(sampleRate))) {
    throw new RangeError(`${what}: sample rate ${sampleRate} Hz must be a positive number`);
  }
  if (!(freqHz > 0 && freqHz < sampleRate / 2)) {
    throw new RangeError(
      `${what}: frequency ${freqHz} Hz must lie strictly between 0 and ${sampleRate / 2} Hz`,
    );
  }
}

function checkQ(what: string, q: number): void {
  if (!(q > 0 && Number.isFinite(q))) throw new RangeError(`${what}: q ${q} must be a positive number`);
}

function checkGain(what: string, gainDb: number): void {
  if (!Number.isFinite(gainDb)) throw new RangeError(`${what}: gain ${gainDb} dB must be finite`);
}

/** Divide by a0 (the cookbook leaves it unnormalised). */
function normalised(b0: number, b1: number, b2: number, a0: number, a1: number, a2: number): Biquad {
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

/** The cookbook's intermediates: ω0 = 2π·f0/fs, cos ω0 and α = sin ω0 / (2Q). */
function prewarp(freqHz: number, q: number, sampleRate: number): { cosW0: number; alpha: number } {
  const w0 = (2 * Math.PI * freqHz) / sampleRate;
  return { cosW0: Math.cos(w0), alpha: Math.sin(w0) / (2 * q) };
}

/**
 * Peaking EQ (cookbook "peakingEQ"): gain `gainDb` at `centerHz`, 0 dB at DC and Nyquist. Q is the analog
 * prototype's: after the bilinear transform the half-gain (gainDb/2) frequencies f1 < f0 < f2 satisfy
 * Ω2 − Ω1 = 1/Q and Ω1·Ω2 = 1 with Ω = tan(πf/fs)/tan(πf0/fs).
 */
export function peakingEq(
  centerHz: number,
  gainDb: number,
  q: number,
  sampleRate: number = SAMPLE_RATE,
): Biquad {
  checkFrequency('peakingEq', centerHz, sampleRate);
  checkGain('peakingEq', gainDb);
  checkQ('peakingEq', q);
  const a = 10 ** (gainDb / 40);
  const { cosW0, alpha } = prewarp(centerHz, q, sampleRate);
  return normalised(1 + alpha * a, -2 * cosW0, 1 - alpha * a, 1 + alpha / a, -2 * cosW0, 1 - alpha / a);
}

/** Low shelf (cookbook "lowShelf"): `gainDb` towards DC, 0 dB towards Nyquist, gainDb/2 at `cornerHz`. */
export function lowShelf(
  cornerHz: number,
  gainDb: number,
  q: number,
  sampleRate: number = SAMPLE_RATE,
): Biquad {
  return shelf('lowShelf', 1, cornerHz, gainDb, q, sampleRate);
}

/** High shelf (cookbook "highShelf"): 0 dB towards DC, `gainDb` towards Nyquist, gainDb/2 at `cornerHz`. */
export function highShelf(
  cornerHz: number,
  gainDb: number,
  q: number,
  sampleRate: number = SAMPLE_RATE,
): Biquad {
  return shelf('highShelf', -1, cornerHz, gainDb, q, sampleRate);
}

/**
 * The cookbook's two shelves are one formula with the sign of every (A − 1)·cos ω0 and (A + 1)·cos ω0 term
 * flipped: `side` = +1 for the low shelf, −1 for the high shelf.
 */
function shelf(
  name: string,
  side: 1 | -1,
  cornerHz: number,
  gainDb: number,
  q: number,
  sampleRate: number,
): Biquad {
  checkFrequency(name, cornerHz, sampleRate);
  checkGain(name, gainDb);
  checkQ(name, q);
  const a = 10 ** (gainDb / 40);
  const { cosW0, alpha } = prewarp(cornerHz, q, sampleRate);
  const k = 2 * Math.sqrt(a) * alpha;
  const minus = (a - 1) * cosW0 * side; // (A − 1)·cos ω0, signed by side
  const plus = (a + 1) * cosW0 * side; // (A + 1)·cos ω0, signed by side
  return normalised(
    a * (a + 1 - minus + k),
    2 * side * a * (a - 1 - plus),
    a * (a + 1 - minus - k),
    a + 1 + minus + k,
    -2 * side * (a - 1 + plus),
    a + 1 + minus - k,
  );
}

/** 2nd-order high-pass (cookbook "HPF"); with q = 1/√2 it is the Butterworth `butter2('highpass', …)`. */
export function highPass(cornerHz: number, q: number, sampleRate: number = SAMPLE_RATE): Biquad {
  checkFrequency('highPass', cornerHz, sampleRate);
  checkQ('highPass', q);
  const { cosW0, alpha } = prewarp(cornerHz, q, sampleRate);
  return normalised((1 + cosW0) / 2, -(1 + cosW0), (1 + cosW0) / 2, 1 + alpha, -2 * cosW0, 1 - alpha);
}

/** 2nd-order low-pass (cookbook "LPF"); with q = 1/√2 it is the Butterworth `butter2('lowpass', …)`. */
export function lowPass(cornerHz: number, q: number, sampleRate: number = SAMPLE_RATE): Biquad {
  checkFrequency('lowPass', cornerHz, sampleRate);
  checkQ('lowPass', q);
  const { cosW0, alpha } = prewarp(cornerHz, q, sampleRate);
  return normalised((1 - cosW0) / 2, 1 - cosW0, (1 - cosW0) / 2, 1 + alpha, -2 * cosW0, 1 - alpha);
}

/**
 * |H(e^{jω})| in dB at `freqHz` (0 ≤ freqHz ≤ fs/2), evaluated from the coefficients:
 * |B(z)|²/|A(z)|² on the unit circle, z = e^{jω}, ω = 2π·freqHz/fs. −Infinity at a zero of the response.
 */
export function biquadGainDb(filter: Biquad, freqHz: number, sampleRate: number = SAMPLE_RATE): number {
  if (!(freqHz >= 0 && freqHz <= sampleRate / 2)) {
    throw new RangeError(`biquadGainDb: frequency ${freqHz} Hz must lie in [0, ${sampleRate / 2}] Hz`);
  }
  const w = (2 * Math.PI * freqHz) / sampleRate;
  const c1 = Math.cos(w);
  const s1 = Math.sin(w);
  const c2 = Math.cos(2 * w);
  const s2 = Math.sin(2 * w);
  // B(e^{−jω}) = b0 + b1·e^{−jω} + b2·e^{−2jω}, likewise A with a0 = 1
  const bRe = filter.b0 + filter.b1 * c1 + filter.b2 * c2;
  const bIm = -(filter.b1 * s1 + filter.b2 * s2);
  const aRe = 1 + filter.a1 * c1 + filter.a2 * c2;
  const aIm = -(filter.a1 * s1 + filter.a2 * s2);
  return 10 * Math.log10((bRe * bRe + bIm * bIm) / (aRe * aRe + aIm * aIm));
}

/**
 * Runs the cascade `filters` (in order) over one channel: transposed direct form II per section (scipy `lfilter`'s
 * recursion, y = b0·x + z0; z0 = b1·x + z1 − a1·y; z1 = b2·x − a2·y), float64 state and float64 values between
 * the sections, starting from rest; rounded to float32 once per sample at the end. Returns a new array.
 *
 * The sections run fused, sample by sample, rather than as one `lfilter` pass each: the per-pass float64 copies
 * of a 5-minute channel cost several times the arithmetic. The result is the same, bit for bit.
 */
export function applyBiquads(x: Float32Array, filters: readonly Biquad[]): Float32Array {
  const out = new Float32Array(x.length);
  const sections = filters.length;
  if (sections === 0) {
    out.set(x);
    return out;
  }
  const coefficients = new Float64Array(5 * sections);
  filters.forEach((f, k) => coefficients.set([f.b0, f.b1, f.b2, f.a1, f.a2], 5 * k));
  const state = new Float64Array(2 * sections);
  for (let i = 0; i < x.length; i++) {
    let v = x[i];
    for (let k = 0, c = 0, z = 0; k < sections; k++, c += 5, z += 2) {
      const y = coefficients[c] * v + state[z];
      state[z] = coefficients[c + 1] * v + state[z + 1] - coefficients[c + 3] * y;
      state[z + 1] = coefficients[c + 2] * v - coefficients[c + 4] * y;
      v = y;
    }
    out[i] = v;
  }
  return out;
}

/** {@link applyBiquads} on both channels (the same filters, independent states). */
export function applyBiquadsStereo(audio: Stereo, filters: readonly Biquad[]): Stereo {
  return { left: applyBiquads(audio.left, filters), right: applyBiquads(audio.right, filters) };
}
