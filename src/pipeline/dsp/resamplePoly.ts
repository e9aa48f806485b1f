/**
 * scipy `resample_poly(x, up, down)` with its defaults (Kaiser window, β = 5, zero padding), as the v1.3 SRS pass
 * uses it (spec §D.3 step 1). The math is float64 (spec §E.5); only the result is rounded to float32.
 */
import type { Stereo } from '../audio/stereo.js';

// spec §D.3: scipy's default window for resample_poly is ('kaiser', 5.0).
const KAISER_BETA = 5;
// spec §D.3: half = 10·max(up, down), i.e. the filter spans 10 zero crossings of the sinc on each side.
const HALF_LENGTH_PER_RATE = 10;

/** spec §D.3: the SRS pass plays the audio 25 % slower (22050 Hz lands on 17640 Hz = 22050·4/5). */
export const SRS_UP = 5;
export const SRS_DOWN = 4;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the β = 5 used here). */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** numpy `sinc`: sin(πu)/(πu), 1 at u = 0. */
function sinc(u: number): number {
  if (u === 0) return 1;
  const y = Math.PI * u;
  return Math.sin(y) / y;
}

function checkRates(up: number, down: number): void {
  if (!Number.isInteger(up) || !Number.isInteger(down) || up < 1 || down < 1) {
    throw new RangeError(`resamplePoly: up and down must be integers >= 1 (got ${up}/${down})`);
  }
}

/**
 * The anti-aliasing filter resample_poly designs for up/down (after dividing both by their gcd):
 * `firwin(2·half + 1, 1/max(up, down), window=('kaiser', 5.0)) · up` with half = 10·max(up, down)
 * (spec §D.3 step 1). For 5/4 and 4/5 this is one 101-tap filter, scaled by 5 or 4.
 */
export function polyphaseFilter(up: number, down: number): Float64Array {
  checkRates(up, down);
  const g = gcd(up, down);
  up /= g;
  down /= g;
  const maxRate = Math.max(up, down);
  const cutoff = 1 / maxRate; // relative to Nyquist
  const half = HALF_LENGTH_PER_RATE * maxRate;
  const taps = 2 * half + 1;
  const h = new Float64Array(taps);
  const i0Beta = besselI0(KAISER_BETA);
  let sum = 0;
  for (let j = 0; j < taps; j++) {
    const m = j - half;
    // scipy windows.kaiser (symmetric): I0(β·√(1 − ((j − α)/α)²))/I0(β), α = (taps − 1)/2 = half.
    const r = m / half;
    const kaiser = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
    h[j] = cutoff * sinc(cutoff * m) * kaiser;
    sum += h[j];
  }
  // firwin scale = True: unit gain at DC; then resample_poly multiplies by up to undo the zero-stuffing loss.
  for (let j = 0; j < taps; j++) h[j] = (h[j] / sum) * up;
  return h;
}

/**
 * y = scipy.signal.resample_poly(x, up, down), output length ceil(n·up/down) (spec §F.19).
 *
 * Definition (spec §D.3): y[q] = Σ_k h[k]·x_up[q·down + half − k], where x_up is x zero-stuffed by `up`.
 * Only every up-th tap meets a non-zero sample: with t = q·down + half, phase p = t mod up and j0 = ⌊t/up⌋,
 * y[q] = Σ_m h[p + m·up]·x[j0 − m], about 101/up multiply-adds per output instead of 101 (polyphase form).
 * Outputs q ≡ r (mod up) share one phase and step through x by `down`, so the interior runs phase by phase.
 */
export function resamplePoly(x: Float32Array, up: number, down: number): Float32Array {
  checkRates(up, down);
  const g = gcd(up, down);
  up /= g;
  down /= g;
  if (up === 1 && down === 1) return x.slice(); // scipy returns a copy
  const n = x.length;
  const nOut = Math.ceil((n * up) / down);
  const out = new Float32Array(nOut);
  if (n === 0) return out;

  const h = polyphaseFilter(up, down);
  const half = (h.length - 1) / 2;
  // Sub-filter p = h[p], h[p + up], h[p + 2·up], … stored reversed and zero-padded to `taps`, so output q is the
  // dot product of bank[p·taps, (p+1)·taps) with x[base, base + taps), base = j0 − taps + 1.
  const taps = Math.ceil(h.length / up);
  const bank = new Float64Array(up * taps);
  for (let p = 0; p < up; p++) {
    for (let m = 0; m < taps; m++) {
      const k = p + m * up;
      bank[p * taps + taps - 1 - m] = k < h.length ? h[k] : 0;
    }
  }

  // Interior outputs read only x[0, n): base ≥ 0 and j0 < n.
  const qFirst = Math.min(nOut, Math.max(0, Math.ceil(((taps - 1) * up - half) / down)));
  const qEnd = Math.max(qFirst, Math.min(nOut, Math.ceil((n * up - half) / down)));

  const edgeSample = (q: number): number => {
    const t = q * down + half;
    const p = t % up;
    const base = (t - p) / up - taps + 1;
    let acc = 0;
    for (let m = Math.max(0, -base); m < taps && base + m < n; m++) acc += bank[p * taps + m] * x[base + m];
    return acc;
  };
  for (let q = 0; q < qFirst; q++) out[q] = edgeSample(q);
  for (let q = qEnd; q < nOut; q++) out[q] = edgeSample(q);

  for (let r = 0; r < up; r++) {
    let q = qFirst + ((((r - qFirst) % up) + up) % up); // first interior q with q ≡ r (mod up)
    if (q >= qEnd) continue;
    const t = q * down + half;
    const p = t % up;
    const s = p * taps;
    let base = (t - p) / up - taps + 1;
    for (; q < qEnd; q += up, base += down) {
      // four partial sums: shorter dependency chains, measurably faster in V8
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let m = 0;
      for (; m + 3 < taps; m += 4) {
        a0 += bank[s + m] * x[base + m];
        a1 += bank[s + m + 1] * x[base + m + 1];
        a2 += bank[s + m + 2] * x[base + m + 2];
        a3 += bank[s + m + 3] * x[base + m + 3];
      }
      for (; m < taps; m++) a0 += bank[s + m] * x[base + m];
      out[q] = a0 + a1 + (a2 + a3);
    }
  }
  return out;
}

/** spec §D.3 step 1, U: both channels up 5 / down 4 (length ceil(n·5/4)). */
export function srsUp(audio: Stereo): Stereo {
  return {
    left: resamplePoly(audio.left, SRS_UP, SRS_DOWN),
    right: resamplePoly(audio.right, SRS_UP, SRS_DOWN),
  };
}

/** spec §D.3 step 1, D: both channels up 4 / down 5 (length ceil(n·4/5)); fit to the reference length after it. */
export function srsDown(audio: Stereo): Stereo {
  return {
    left: resamplePoly(audio.left, SRS_DOWN, SRS_UP),
    right: resamplePoly(audio.right, SRS_DOWN, SRS_UP),
  };
}
