/**
 * The IIR pieces of the v1.3 SRS crossover (spec §D.3 step 3): 2nd-order Butterworth design, scipy `lfilter_zi`,
 * `lfilter` (direct form II transposed) and `filtfilt` with scipy's default edge handling. All float64 (spec §E.5).
 */
import { SAMPLE_RATE } from '../audio/stereo.js';
import { luSolve } from './linearSolve.js';

/** Transfer-function coefficients, a[0] = 1 for the designs below. */
export interface IirFilter {
  readonly b: Float64Array;
  readonly a: Float64Array;
}

export type ButterworthKind = 'lowpass' | 'highpass';

/**
 * scipy `butter(2, cutoffHz/(sampleRate/2), btype=kind)`, in the closed form of spec §D.3 step 3
 * (bilinear transform with pre-warping): K = tan(π·fc/fs), N = 1/(1 + √2·K + K²),
 * LP b = [K²N, 2K²N, K²N], HP b = [N, −2N, N], a = [1, 2(K² − 1)N, (1 − √2·K + K²)N].
 */
export function butter2(
  kind: ButterworthKind,
  cutoffHz: number,
  sampleRate: number = SAMPLE_RATE,
): IirFilter {
  if (!(cutoffHz > 0 && cutoffHz < sampleRate / 2)) {
    throw new RangeError(
      `butter2: cutoff ${cutoffHz} Hz must lie strictly between 0 and ${sampleRate / 2} Hz`,
    );
  }
  const k = Math.tan((Math.PI * cutoffHz) / sampleRate);
  const k2 = k * k;
  const norm = 1 / (1 + Math.SQRT2 * k + k2);
  const a = Float64Array.of(1, 2 * (k2 - 1) * norm, (1 - Math.SQRT2 * k + k2) * norm);
  const b =
    kind === 'lowpass'
      ? Float64Array.of(k2 * norm, 2 * k2 * norm, k2 * norm)
      : Float64Array.of(norm, -2 * norm, norm);
  return { b, a };
}

/** b and a padded with zeros to one length and divided by a[0], as scipy's lfilter/lfilter_zi do. */
function normalizeCoefficients(
  b: ArrayLike<number>,
  a: ArrayLike<number>,
): { b: Float64Array; a: Float64Array } {
  let lead = 0;
  while (lead < a.length - 1 && a[lead] === 0) lead++; // lfilter_zi strips leading zeros of a
  const a0 = a[lead];
  if (a.length === 0 || a0 === 0) throw new RangeError('IIR filter: a[0] must not be zero');
  const order = Math.max(b.length, a.length - lead);
  const bn = new Float64Array(order);
  const an = new Float64Array(order);
  for (let i = 0; i < b.length; i++) bn[i] = b[i] / a0;
  for (let i = lead; i < a.length; i++) an[i - lead] = a[i] / a0;
  return { b: bn, a: an };
}

/**
 * scipy `lfilter_zi(b, a)`: the direct-form-II-transposed state of the filter's steady-state response to a unit
 * step. Solves (I − companion(a)ᵀ)·zi = b[1:] − a[1:]·b[0] (spec §D.3 step 3); for the 14 kHz LP it is
 * ≈ [0.5709153, 0.2129332].
 */
export function lfilterZi(b: ArrayLike<number>, a: ArrayLike<number>): Float64Array {
  const { b: bn, a: an } = normalizeCoefficients(b, a);
  const n = bn.length - 1;
  if (n === 0) return new Float64Array(0);
  // companion(a): first row −a[1:], ones on the sub-diagonal. M = I − companionᵀ.
  const m = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    m[r * n + r] += 1;
    m[r * n + 0] += an[r + 1]; // −(companionᵀ)[r][0] = −(−a[r+1])
    if (r + 1 < n) m[r * n + r + 1] -= 1; // companionᵀ[r][r+1] = companion[r+1][r] = 1
  }
  const rhs = new Float64Array(n);
  for (let i = 0; i < n; i++) rhs[i] = bn[i + 1] - an[i + 1] * bn[0];
  return luSolve(m, n, rhs, 1, 'lfilterZi: singular system (a pole at z = 1?)');
}

/**
 * One direct-form-II-transposed pass (scipy `lfilter`) over x[from..to) (to < from runs backwards), in place:
 * y = b0·x + z0; z_k = b_{k+1}·x + z_{k+1} − a_{k+1}·y. `state` is the initial z and is updated.
 */
function lfilterInPlace(
  b: Float64Array,
  a: Float64Array,
  buf: Float64Array,
  from: number,
  to: number,
  state: Float64Array,
): void {
  const n = state.length;
  const step = to >= from ? 1 : -1;
  if (n === 2) {
    // the order the crossover uses, unrolled
    const [b0, b1, b2] = [b[0], b[1], b[2]];
    const [a1, a2] = [a[1], a[2]];
    let z0 = state[0];
    let z1 = state[1];
    for (let i = from; i !== to; i += step) {
      const x = buf[i];
      const y = b0 * x + z0;
      z0 = b1 * x + z1 - a1 * y;
      z1 = b2 * x - a2 * y;
      buf[i] = y;
    }
    state[0] = z0;
    state[1] = z1;
    return;
  }
  for (let i = from; i !== to; i += step) {
    const x = buf[i];
    const y = b[0] * x + (n > 0 ? state[0] : 0);
    for (let k = 0; k < n - 1; k++) state[k] = b[k + 1] * x + state[k + 1] - a[k + 1] * y;
    if (n > 0) state[n - 1] = b[n] * x - a[n] * y;
    buf[i] = y;
  }
}

/** scipy `lfilter(b, a, x, zi)` (zi defaults to zeros), float64. */
export function lfilter(
  b: ArrayLike<number>,
  a: ArrayLike<number>,
  x: ArrayLike<number>,
  zi?: ArrayLike<number>,
): Float64Array {
  const { b: bn, a: an } = normalizeCoefficients(b, a);
  const state = new Float64Array(bn.length - 1);
  if (zi) {
    if (zi.length !== state.length) throw new RangeError(`lfilter: zi must have length ${state.length}`);
    state.set(zi);
  }
  const y = Float64Array.from(x);
  lfilterInPlace(bn, an, y, 0, y.length, state);
  return y;
}

/** spec §D.3 step 3: scipy filtfilt's default padlen = 3·max(len(a), len(b)) (9 for a 2nd-order filter). */
export function filtfiltPadlen(b: ArrayLike<number>, a: ArrayLike<number>): number {
  return 3 * Math.max(a.length, b.length);
}

/**
 * scipy `filtfilt(b, a, x)` with its defaults (spec §D.3 step 3, §F.15): odd extension by padlen samples at each
 * end (left = 2·x[0] − x[padlen..1], right likewise), a forward pass from the state zi·(first extended sample),
 * a backward pass from zi·(last forward output), then the padding is cut off. Zero phase, magnitude |H|².
 *
 * Returns float64: callers that sum two branches (the crossover) round once, at the end. The result is a view of
 * length x.length into a work buffer of x.length + 2·padlen samples.
 */
export function filtfilt(b: ArrayLike<number>, a: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const pad = filtfiltPadlen(b, a);
  if (n <= pad) {
    // scipy raises here too ("The length of the input vector x must be greater than padlen")
    throw new RangeError(`filtfilt: input length ${n} must be greater than padlen ${pad}`);
  }
  const { b: bn, a: an } = normalizeCoefficients(b, a);
  const zi = lfilterZi(bn, an);

  const ext = new Float64Array(n + 2 * pad);
  const first = x[0];
  const last = x[n - 1];
  for (let k = 0; k < pad; k++) ext[k] = 2 * first - x[pad - k];
  for (let i = 0; i < n; i++) ext[pad + i] = x[i];
  for (let k = 0; k < pad; k++) ext[pad + n + k] = 2 * last - x[n - 2 - k];

  const state = new Float64Array(zi.length);
  const x0 = ext[0];
  for (let i = 0; i < zi.length; i++) state[i] = zi[i] * x0;
  lfilterInPlace(bn, an, ext, 0, ext.length, state);

  const y0 = ext[ext.length - 1]; // first sample of the reversed signal
  for (let i = 0; i < zi.length; i++) state[i] = zi[i] * y0;
  lfilterInPlace(bn, an, ext, ext.length - 1, -1, state);

  return ext.subarray(pad, pad + n);
}
