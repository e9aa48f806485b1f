/**
 * A plain, literal reading of spec §A.2 (the KaraFan v1.3 recipe), written for tests only and independent of
 * src/pipeline: its own normalisation (§A.2 step 1), Silent gate (§D.2, v1.3), zero-phase Butterworth crossover
 * (§D.3 item 3, closed form + scipy filtfilt edge handling) and the Extract of ./mdxReference.ts (§B.6).
 * Float64 everywhere except at the model boundary, no cleverness, no caching: slow and obvious on purpose.
 */
import { type Geometry, type ModelFn, referenceExtract } from './mdxReference.js';

export interface Stereo64 {
  left: Float64Array;
  right: Float64Array;
}

export interface ReferenceModel {
  model: ModelFn;
  geometry: Geometry;
  /** the model's volume compensation (§D.1) */
  compensate: number;
}

export interface ReferenceSettings {
  /** §A.2 step 2: 12 // 2 = 6 in v1.3 */
  musicShifts: number;
  /** §A.2 step 5: 12 */
  vocalShifts: number;
  /** §A.2 step 5: 12 // 5 = 2 */
  srsShifts: number;
  srs: boolean;
  denoise: boolean;
  chunkSize: number;
}

export type ReferenceFiles = Record<'1' | '2' | '3' | '4_F' | '5_F' | '6', Stereo64> &
  Partial<Record<'4_A' | '4_B', Stereo64>>;

// ---------------------------------------------------------------------------------------------------------------
// §A.2 step 1: Normalize
// ---------------------------------------------------------------------------------------------------------------

/** Remove one DC offset (mean of all samples of both channels), then scale the peak to −1 dBFS (skip if 0). */
export function referenceNormalize(left: ArrayLike<number>, right: ArrayLike<number>): Stereo64 {
  const n = left.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += left[i] + right[i];
  const mean = n === 0 ? 0 : sum / (2 * n);
  const l = new Float64Array(n);
  const r = new Float64Array(n);
  let peak = 0;
  for (let i = 0; i < n; i++) {
    l[i] = left[i] - mean;
    r[i] = right[i] - mean;
    peak = Math.max(peak, Math.abs(l[i]), Math.abs(r[i]));
  }
  if (peak > 0) {
    const gain = 10 ** (-1 / 20) / peak;
    for (let i = 0; i < n; i++) {
      l[i] *= gain;
      r[i] *= gain;
    }
  }
  return { left: l, right: r };
}

// ---------------------------------------------------------------------------------------------------------------
// §D.2: Silent gate, v1.3 (W = 441, MIN = 44100, FADE = 11025), in place on a copy
// ---------------------------------------------------------------------------------------------------------------

const W = 441;
const MIN = 44100;
const FADE = 11025;

/** librosa rms (center, zero padding) → dB, max over channels and frames, of a segment of ≤ W samples. */
function windowLevelDb(channels: Float64Array[], start: number): number {
  const padded = new Float64Array(2 * Math.floor(W / 2) + Math.min(W, channels[0].length - start));
  let best = -Infinity;
  for (const x of channels) {
    padded.fill(0);
    const segment = x.subarray(start, Math.min(start + W, x.length));
    padded.set(segment, Math.floor(W / 2));
    const frames = 1 + Math.floor((padded.length - W) / W);
    for (let f = 0; f < frames; f++) {
      let power = 0;
      for (let k = 0; k < W; k++) power += padded[f * W + k] ** 2;
      power /= W;
      best = Math.max(best, 10 * Math.log10(Math.max(power, 1e-10)));
    }
  }
  return best;
}

function linspace(from: number, to: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = from + ((to - from) * i) / (count - 1);
  return out;
}

export function referenceSilent(audio: Stereo64, thresholdDb: number): Stereo64 {
  const channels = [Float64Array.from(audio.left), Float64Array.from(audio.right)];
  const length = channels[0].length;
  const fadeOut = linspace(1, 0, FADE);
  const fadeIn = linspace(0, 1, FADE);
  let start = 0;
  let end = 0;
  for (let i = 0; i < length; i += W) {
    if (windowLevelDb(channels, i) > thresholdDb) {
      if (end - start > MIN) {
        if (start > FADE) {
          for (const x of channels) for (let k = 0; k < FADE; k++) x[start + k] *= fadeOut[k];
          start += FADE;
        }
        if (end < length - FADE) {
          for (const x of channels) for (let k = 0; k < FADE; k++) x[end - FADE + k] *= fadeIn[k];
          end -= FADE;
        }
        for (const x of channels) x.fill(0, start, end);
      }
      start = i;
    } else {
      end = i + W;
    }
  }
  return { left: channels[0], right: channels[1] };
}

// ---------------------------------------------------------------------------------------------------------------
// §D.3 item 3: v = LP(v_nb) + HP(v_srs), butter(2, 14000/22050), each through scipy filtfilt
// ---------------------------------------------------------------------------------------------------------------

interface Biquad {
  b: [number, number, number];
  a: [number, number, number];
}

function butterworth14k(): { lp: Biquad; hp: Biquad } {
  const K = Math.tan((Math.PI * 14000) / 44100);
  const N = 1 / (1 + Math.SQRT2 * K + K * K);
  const a: [number, number, number] = [1, 2 * (K * K - 1) * N, (1 - Math.SQRT2 * K + K * K) * N];
  return {
    lp: { b: [K * K * N, 2 * K * K * N, K * K * N], a },
    hp: { b: [N, -2 * N, N], a },
  };
}

/** scipy lfilter_zi for a 2nd-order section: solve (I − companion(a)ᵀ)·zi = b[1:] − a[1:]·b[0]. */
function lfilterZi({ b, a }: Biquad): [number, number] {
  // I − Aᵀ = [[1 + a1, −1], [a2, 1]]
  const m00 = 1 + a[1];
  const m01 = -1;
  const m10 = a[2];
  const m11 = 1;
  const r0 = b[1] - a[1] * b[0];
  const r1 = b[2] - a[2] * b[0];
  const det = m00 * m11 - m01 * m10;
  return [(r0 * m11 - m01 * r1) / det, (m00 * r1 - m10 * r0) / det];
}

/** Direct form II transposed, initial state zi·x[0]. */
function lfilter({ b, a }: Biquad, zi: [number, number], x: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  let z0 = zi[0] * x[0];
  let z1 = zi[1] * x[0];
  for (let i = 0; i < x.length; i++) {
    const out = b[0] * x[i] + z0;
    z0 = b[1] * x[i] - a[1] * out + z1;
    z1 = b[2] * x[i] - a[2] * out;
    y[i] = out;
  }
  return y;
}

/** scipy filtfilt defaults: odd extension by padlen = 3·max(len(a), len(b)) = 9 at each end. */
export function referenceFiltfilt(filter: Biquad, x: Float64Array): Float64Array {
  const pad = 9;
  const n = x.length;
  if (n <= pad) throw new Error(`filtfilt needs more than ${pad} samples`);
  const ext = new Float64Array(n + 2 * pad);
  for (let k = 0; k < pad; k++) ext[k] = 2 * x[0] - x[pad - k];
  ext.set(x, pad);
  for (let k = 0; k < pad; k++) ext[pad + n + k] = 2 * x[n - 1] - x[n - 2 - k];
  const zi = lfilterZi(filter);
  const forward = lfilter(filter, zi, ext).reverse();
  const backward = lfilter(filter, zi, forward).reverse();
  return backward.slice(pad, pad + n);
}

function referenceCrossover(narrow: Stereo64, srs: Stereo64): Stereo64 {
  const { lp, hp } = butterworth14k();
  const mix = (low: Float64Array, high: Float64Array): Float64Array => {
    const a = referenceFiltfilt(lp, low);
    const b = referenceFiltfilt(hp, high);
    return a.map((v, i) => v + b[i]);
  };
  return { left: mix(narrow.left, srs.left), right: mix(narrow.right, srs.right) };
}

// ---------------------------------------------------------------------------------------------------------------
// §A.2: the eight steps
// ---------------------------------------------------------------------------------------------------------------

function minus(a: Stereo64, b: Stereo64): Stereo64 {
  return { left: a.left.map((v, i) => v - b.left[i]), right: a.right.map((v, i) => v - b.right[i]) };
}

async function extract(
  audio: Stereo64,
  which: ReferenceModel,
  shifts: number,
  srs: boolean,
  settings: ReferenceSettings,
): Promise<Stereo64> {
  // The model sees float32 (spec §E.5); referenceExtract applies × compensate and fits the length (§B.6, §D.1).
  return referenceExtract(
    Float32Array.from(audio.left),
    Float32Array.from(audio.right),
    which.model,
    which.geometry,
    {
      shifts,
      denoise: settings.denoise,
      srs,
      chunkSize: settings.chunkSize,
      compensate: which.compensate,
    },
  );
}

export async function referenceRecipe(
  left: ArrayLike<number>,
  right: ArrayLike<number>,
  musicModel: ReferenceModel,
  vocalModel: ReferenceModel,
  settings: ReferenceSettings,
): Promise<ReferenceFiles> {
  const x = referenceNormalize(left, right); // 1
  const m = await extract(x, musicModel, settings.musicShifts, false, settings); // 2, 3
  const s = referenceSilent(minus(x, m), -50); // 4
  const vNarrow = await extract(s, vocalModel, settings.vocalShifts, false, settings); // 5
  let v = vNarrow;
  let vSrs: Stereo64 | undefined;
  if (settings.srs) {
    vSrs = await extract(s, vocalModel, settings.srsShifts, true, settings);
    v = referenceCrossover(vNarrow, vSrs);
  }
  const vocals = referenceSilent(v, -50); // 6
  const music = referenceSilent(minus(x, vocals), -61); // 7: −61 dB, not −50
  const bleed = minus(music, m); // 8: no gate
  const files: ReferenceFiles = { '1': x, '2': m, '3': s, '4_F': vocals, '5_F': music, '6': bleed };
  if (vSrs) {
    files['4_A'] = vNarrow;
    files['4_B'] = vSrs;
  }
  return files;
}
