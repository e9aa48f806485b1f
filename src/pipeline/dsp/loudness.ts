/**
 * Loudness meter of ITU-R BS.1770-4 (K-weighting, gated integrated loudness) with the EBU "EBU Mode" quantities
 * of EBU Tech 3341 (momentary 400 ms, short-term 3 s) and the loudness range of EBU Tech 3342.
 *
 * One K-weighting pass per channel feeds sums of squares per 100 ms hop; every block and window is then a sum of
 * whole hops, so the whole measurement is O(n) with a few thousand hop sums for a song.
 *
 * Time grid and partial blocks: hop k covers samples [round(k·fs/10), round((k+1)·fs/10)); only complete hops
 * count, and a block or window exists only where all of its hops are complete. So the trailing < 100 ms of a
 * signal, and blocks that would run past its end, are not measured (BS.1770-4 defines gating blocks as complete
 * 400 ms intervals stepped by 100 ms: j = 0 … ⌊(T − 0.4)/0.1⌋; libebur128 and ffmpeg's ebur128 filter likewise
 * emit only complete blocks). A signal shorter than 400 ms has no block: its integrated loudness is −Infinity.
 */
import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import type { Biquad } from './biquad.js';

export interface LoudnessMeasurement {
  /** BS.1770-4 gated programme loudness, LUFS; −Infinity when every block is gated out. */
  readonly integratedLufs: number;
  /** EBU Tech 3342 loudness range, LU; 0 when no short-term window survives the gates (or none is complete). */
  readonly loudnessRangeLu: number;
  /** Largest momentary (400 ms, 100 ms step) loudness, LUFS; −Infinity when there is no complete block. */
  readonly maxMomentaryLufs: number;
  /** Largest short-term (3 s, 100 ms step) loudness, LUFS; −Infinity when there is no complete window. */
  readonly maxShortTermLufs: number;
  /** 20·log10 of the largest |sample| of either channel, dBFS (sample peak, not true peak); −Infinity if silent. */
  readonly samplePeakDb: number;
}

// BS.1770-4 Annex 1 eq. (2): L = −0.691 + 10·log10(Σ G_i·z_i); G = 1 for L and R (front channels).
const LOUDNESS_OFFSET = -0.691;
// BS.1770-4 Annex 1: absolute gate Γa = −70 LKFS, relative gate −10 LU below the absolute-gated loudness.
const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;
// EBU Tech 3342: relative gate −20 LU below the absolute-gated short-term power mean; 10th–95th percentile.
const LRA_RELATIVE_GATE_LU = -20;
const LRA_LOW_PERCENTILE = 0.1;
const LRA_HIGH_PERCENTILE = 0.95;
// Tech 3341: momentary = 400 ms (4 hops), short-term = 3 s (30 hops); 100 ms hop = 10 Hz update (Tech 3342 §3).
const HOPS_PER_SECOND = 10;
const MOMENTARY_HOPS = 4;
const SHORT_TERM_HOPS = 30;

/**
 * The BS.1770-4 K-weighting filter for any sample rate: [pre-filter high shelf (head model), RLB high-pass].
 * The standard publishes coefficients for 48 kHz only; these are re-derived from the analog prototypes that
 * libebur128 (jiixyj/libebur128, ebur128.c) fitted to them (shelf: f0 = 1681.97 Hz, G = +4.0 dB, Q = 0.7072;
 * high-pass: f0 = 38.135 Hz, Q = 0.5003) through the bilinear transform with K = tan(π·f0/fs). At 48 kHz they
 * reproduce BS.1770-4 Table 1 and Table 2 to ~1e-15.
 */
export function kWeighting(sampleRate: number = SAMPLE_RATE): Biquad[] {
  if (!(sampleRate > 2 * 1681.974450955533 && Number.isFinite(sampleRate))) {
    throw new RangeError(`kWeighting: sample rate ${sampleRate} Hz is too low for the K-weighting shelf`);
  }
  // stage 1: high shelf
  const shelfHz = 1681.974450955533;
  const shelfGainDb = 3.999843853973347;
  const shelfQ = 0.7071752369554196;
  let k = Math.tan((Math.PI * shelfHz) / sampleRate);
  const vh = 10 ** (shelfGainDb / 20);
  const vb = vh ** 0.4996667741545416;
  let a0 = 1 + k / shelfQ + k * k;
  const shelf: Biquad = {
    b0: (vh + (vb * k) / shelfQ + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / shelfQ + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / shelfQ + k * k) / a0,
  };
  // stage 2: RLB high-pass; BS.1770 keeps b = [1, −2, 1] unnormalised (pass-band gain ≈ 1.0 + 2e-5 dB at 48 kHz)
  const highPassHz = 38.13547087602444;
  const highPassQ = 0.5003270373238773;
  k = Math.tan((Math.PI * highPassHz) / sampleRate);
  a0 = 1 + k / highPassQ + k * k;
  const highPass: Biquad = {
    b0: 1,
    b1: -2,
    b2: 1,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / highPassQ + k * k) / a0,
  };
  return [shelf, highPass];
}

/** Hop boundary k in samples: round(k·fs/10), so hops tile the signal even when fs/10 is not an integer. */
function hopBoundary(k: number, sampleRate: number): number {
  return Math.round((k * sampleRate) / HOPS_PER_SECOND);
}

/**
 * K-weighted Σ squares of both channels per complete 100 ms hop (channel weights 1, BS.1770-4 Table 3), from one
 * fused two-stage filter pass per channel (direct form II transposed, float64 state, starting at rest).
 */
function hopEnergies(audio: Stereo, sampleRate: number): Float64Array {
  const n = audio.left.length;
  if (audio.right.length !== n) throw new RangeError(`channel lengths differ: ${n} vs ${audio.right.length}`);
  let hops = Math.floor((n * HOPS_PER_SECOND) / sampleRate);
  while (hops > 0 && hopBoundary(hops, sampleRate) > n) hops--;
  const sums = new Float64Array(hops);
  const [shelf, highPass] = kWeighting(sampleRate);
  // coefficients in locals: property loads in the inner loop cost V8 about 2× here
  const { b0: sb0, b1: sb1, b2: sb2, a1: sa1, a2: sa2 } = shelf;
  const { b1: hb1, b2: hb2, a1: ha1, a2: ha2 } = highPass; // b0 = 1
  for (const x of [audio.left, audio.right]) {
    let s1 = 0;
    let s2 = 0;
    let h1 = 0;
    let h2 = 0;
    let start = 0;
    for (let hop = 0; hop < hops; hop++) {
      const end = hopBoundary(hop + 1, sampleRate);
      let sum = 0;
      for (let i = start; i < end; i++) {
        const v = x[i];
        const y = sb0 * v + s1;
        s1 = sb1 * v + s2 - sa1 * y;
        s2 = sb2 * v - sa2 * y;
        const z = y + h1;
        h1 = hb1 * y + h2 - ha1 * z;
        h2 = hb2 * y - ha2 * z;
        sum += z * z;
      }
      sums[hop] += sum;
      start = end;
    }
  }
  return sums;
}

/**
 * Mean-square power Σ_channels z_i of each complete window of `length` hops, stepped by one hop. Each window is
 * summed directly from its hops (length adds, not a running add/subtract) so that silence stays exactly 0.
 */
function windowPowers(hops: Float64Array, length: number, sampleRate: number): Float64Array {
  const count = Math.max(0, hops.length - length + 1);
  const powers = new Float64Array(count);
  for (let w = 0; w < count; w++) {
    let sum = 0;
    for (let k = w; k < w + length; k++) sum += hops[k];
    powers[w] = sum / (hopBoundary(w + length, sampleRate) - hopBoundary(w, sampleRate));
  }
  return powers;
}

/** BS.1770-4 eq. (2): loudness of a channel-summed mean-square power; −Infinity for 0. */
function powerToLufs(power: number): number {
  return LOUDNESS_OFFSET + 10 * Math.log10(power);
}

function lufsToPower(lufs: number): number {
  return 10 ** ((lufs - LOUDNESS_OFFSET) / 10);
}

/** BS.1770-4 eq. (5)–(7): two-stage gated mean of the 400 ms block powers. Gates are strict (l_j > Γ). */
function gatedLoudness(blockPowers: Float64Array): number {
  const absoluteGate = lufsToPower(ABSOLUTE_GATE_LUFS);
  let sum = 0;
  let count = 0;
  for (const p of blockPowers) {
    if (p > absoluteGate) {
      sum += p;
      count++;
    }
  }
  if (count === 0) return -Infinity;
  const relativeGate = Math.max(absoluteGate, (sum / count) * 10 ** (RELATIVE_GATE_LU / 10));
  sum = 0;
  count = 0;
  for (const p of blockPowers) {
    if (p > relativeGate) {
      sum += p;
      count++;
    }
  }
  return count === 0 ? -Infinity : powerToLufs(sum / count);
}

/**
 * EBU Tech 3342 loudness range from the 3 s short-term powers (10 Hz): absolute gate −70 LUFS, relative gate
 * −20 LU below the power mean of the absolute-gated windows, then the 95th minus the 10th percentile of the
 * remaining short-term loudnesses. Percentiles are nearest-rank at index round((n − 1)·p) of the sorted values,
 * as libebur128 and ffmpeg do (the Tech 3342 text defines the percentiles but the search could not confirm
 * its exact interpolation rule). Windows at or above a gate pass, as in libebur128.
 */
function loudnessRangeOf(shortTermPowers: Float64Array): number {
  const absoluteGate = lufsToPower(ABSOLUTE_GATE_LUFS);
  let sum = 0;
  let count = 0;
  for (const p of shortTermPowers) {
    if (p >= absoluteGate) {
      sum += p;
      count++;
    }
  }
  if (count === 0) return 0;
  const relativeGate = (sum / count) * 10 ** (LRA_RELATIVE_GATE_LU / 10);
  const kept = shortTermPowers.filter((p) => p >= absoluteGate && p >= relativeGate).sort();
  if (kept.length === 0) return 0;
  const at = (q: number): number => kept[Math.round((kept.length - 1) * q)];
  return powerToLufs(at(LRA_HIGH_PERCENTILE)) - powerToLufs(at(LRA_LOW_PERCENTILE));
}

function maxLufs(powers: Float64Array): number {
  let max = 0;
  for (const p of powers) if (p > max) max = p;
  return powerToLufs(max);
}

function samplePeakDb(audio: Stereo): number {
  let peak = 0;
  for (const x of [audio.left, audio.right]) {
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      if (a > peak) peak = a;
    }
  }
  return 20 * Math.log10(peak);
}

/**
 * All EBU Mode figures of a stereo signal in one K-weighting pass (see the module comment for the time grid).
 * `sampleRate` in Hz; the K-weighting is re-derived for it.
 */
export function measureLoudness(audio: Stereo, sampleRate: number = SAMPLE_RATE): LoudnessMeasurement {
  const hops = hopEnergies(audio, sampleRate);
  const momentary = windowPowers(hops, MOMENTARY_HOPS, sampleRate);
  const shortTerm = windowPowers(hops, SHORT_TERM_HOPS, sampleRate);
  return {
    integratedLufs: gatedLoudness(momentary),
    loudnessRangeLu: loudnessRangeOf(shortTerm),
    maxMomentaryLufs: maxLufs(momentary),
    maxShortTermLufs: maxLufs(shortTerm),
    samplePeakDb: samplePeakDb(audio),
  };
}

/** BS.1770-4 gated integrated loudness in LUFS; −Infinity when everything is gated out (or shorter than 400 ms). */
export function integratedLoudness(audio: Stereo, sampleRate: number = SAMPLE_RATE): number {
  return gatedLoudness(windowPowers(hopEnergies(audio, sampleRate), MOMENTARY_HOPS, sampleRate));
}

/** EBU Tech 3342 loudness range in LU (3 s windows at 10 Hz, −70 LUFS and −20 LU gates, 10th–95th percentile). */
export function loudnessRange(audio: Stereo, sampleRate: number = SAMPLE_RATE): number {
  return loudnessRangeOf(windowPowers(hopEnergies(audio, sampleRate), SHORT_TERM_HOPS, sampleRate));
}
