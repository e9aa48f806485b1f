/**
 * Reference implementation of the MDX-Net "Extract" primitive of KaraFan v1.3.
 *
 * It is meant to be slow and obviously correct: it mirrors the Python code described in
 * /work/shared/spec/karafan-recipe.md §B (KF13 `Extract_with_Model` → `demix_full` → `demix_base` →
 * `Conv_TDF_net_trim_model.stft/istft`) line by line, in float64, with a naive DFT (direct sums over precomputed
 * cos/sin tables) instead of an FFT, and a naive zero-stuffing polyphase resampler for SRS (§D.3).
 * It is the independent check of the fast implementation in src/pipeline and shares no code with it.
 *
 * Conventions:
 * - Audio is stereo, held as `Stereo = [left, right]` (the Python `mix` of shape [2, n]).
 * - The model tensor is [K, 4, dim_f, dim_t] in C order, time fastest; channels L-re, L-im, R-re, R-im (§B.1).
 * - Everything is float64 except the model boundary: `referenceExtract` hands the model a Float32Array, exactly
 *   as onnxruntime would get it. `referenceExtractFloat64` keeps float64 across the model boundary, so that
 *   tests can check the algebra (segmentation, shifts, STFT round trip) to ~1e-12.
 *
 * Cost: the direct DFT costs about n_fft·dim_f multiply-adds per frame and channel, each way (a few ns each), so
 * use small geometries (e.g. n_fft 2048, dim_f ≤ 1025, dim_t 8..16) and seconds of audio, not real models.
 */

/** Shape of the model tensor: [K, 4, dim_f, dim_t]. */
export type TensorDims = [number, number, number, number];

/** The model as a black box (§B.1): [K, 4, dim_f, dim_t] float32 in, same shape out. */
export type ModelFn = (input: Float32Array, dims: [number, number, number, number]) => Promise<Float32Array>;

/** Same contract as ModelFn, but float64 on both sides (test-only, to check the algebra exactly). */
export type ModelFn64 = (input: Float64Array, dims: TensorDims) => Promise<Float64Array>;

/** Model geometry (§B.2, §C.2). hop is always 1024. */
export interface Geometry {
  nFft: number;
  dimF: number;
  dimT: number;
}

export interface ExtractOptions {
  /** Requested bigshifts S (§B.4). Clamped as in KF13 `demix_full`. */
  shifts: number;
  /** Two passes, 0.5·(−F(−a)) + 0.5·F(a) (§B.6). false = KF13 TEST_MODE (one pass). */
  denoise: boolean;
  /** SRS variant (§B.6, §D.3): resample up 5/down 4 before, up 4/down 5 after. */
  srs: boolean;
  /** Chunk size in samples (§B.4; KaraFan default 500000). */
  chunkSize: number;
  /** Volume compensation factor, applied last (§D.1, §B.6). */
  compensate: number;
  /** overlap_MDX of §B.4 (KaraFan default 0.0); step = floor(chunkSize·(1 − overlap)). Optional extension. */
  overlap?: number;
}

/** Stereo audio, [left, right], like the Python `mix` of shape [2, n]. */
export type Stereo = [Float64Array, Float64Array];

/** §B.2: hop is 1024 for every model. */
export const HOP = 1024;
/** §A.0: the internal sample rate; bigshifts are whole seconds of it (§B.4). */
export const SAMPLE_RATE = 44100;

// ---------------------------------------------------------------------------------------------------------------
// Geometry (§B.2, §B.3)
// ---------------------------------------------------------------------------------------------------------------

/** Derived sizes: L_seg = hop·(dim_t − 1) (KF13 `chunk_size` of the model), trim = n_fft/2, gen = L_seg − 2·trim. */
export function segmentSizes(geometry: Geometry): { lSeg: number; trim: number; gen: number } {
  const lSeg = HOP * (geometry.dimT - 1);
  const trim = geometry.nFft / 2;
  const gen = lSeg - 2 * trim;
  return { lSeg, trim, gen };
}

function checkGeometry(geometry: Geometry): void {
  const { nFft, dimF, dimT } = geometry;
  if (!Number.isInteger(nFft) || nFft <= 0 || nFft % 2 !== 0) throw new Error(`nFft must be even: ${nFft}`);
  if (!Number.isInteger(dimF) || dimF < 1 || dimF > nFft / 2 + 1) {
    throw new Error(`dimF must be in 1..nFft/2+1: ${dimF}`);
  }
  if (!Number.isInteger(dimT) || dimT < 2) throw new Error(`dimT must be an integer >= 2: ${dimT}`);
  const { lSeg, trim, gen } = segmentSizes(geometry);
  // torch reflect padding needs pad < input length; demix_base needs gen > 0.
  if (trim >= lSeg) throw new Error(`reflect padding needs nFft/2 < L_seg (${trim} >= ${lSeg})`);
  if (gen <= 0) throw new Error(`gen = L_seg − nFft must be > 0 (L_seg ${lSeg}, nFft ${nFft})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Window and DFT tables (§B.2)
// ---------------------------------------------------------------------------------------------------------------

/** Periodic Hann (torch `hann_window(n, periodic=True)`): w[i] = 0.5 − 0.5·cos(2πi/n). */
export function periodicHann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

interface DftTables {
  window: Float64Array;
  /** cos(2π·m/n) and sin(2π·m/n) for m = 0..n−1; the angle of k·i is looked up at (k·i) mod n. */
  cos: Float64Array;
  sin: Float64Array;
}

const tablesCache = new Map<number, DftTables>();

function dftTables(n: number): DftTables {
  let tables = tablesCache.get(n);
  if (tables === undefined) {
    const cos = new Float64Array(n);
    const sin = new Float64Array(n);
    for (let m = 0; m < n; m++) {
      cos[m] = Math.cos((2 * Math.PI * m) / n);
      sin[m] = Math.sin((2 * Math.PI * m) / n);
    }
    tables = { window: periodicHann(n), cos, sin };
    tablesCache.set(n, tables);
  }
  return tables;
}

// ---------------------------------------------------------------------------------------------------------------
// STFT (§B.2; torch.stft with center=True, reflect padding, periodic Hann, onesided, no normalization)
// ---------------------------------------------------------------------------------------------------------------

/**
 * A crop of a one-sided spectrogram: bins 0..dim_f−1, frames 0..dim_t−1.
 * re[f·dim_t + t], im[f·dim_t + t]: the same layout as one channel plane of the model tensor (time fastest).
 */
export interface Spectrogram {
  re: Float64Array;
  im: Float64Array;
}

/**
 * STFT of one channel of one segment of length L_seg (§B.2).
 * X_t[k] = Σ_i padded[t·hop + i]·w[i]·e^{−2πi·k·i/n_fft}, k = 0..dim_f−1 (the crop; later bins are never needed).
 */
export function referenceStft(segment: Float64Array, geometry: Geometry): Spectrogram {
  checkGeometry(geometry);
  const { nFft, dimF, dimT } = geometry;
  const { lSeg } = segmentSizes(geometry);
  if (segment.length !== lSeg) throw new Error(`segment length ${segment.length} != L_seg ${lSeg}`);
  const { window, cos, sin } = dftTables(nFft);
  const half = nFft / 2;

  // center=True: reflect padding of n_fft/2 on both sides, the mirror excludes the edge sample (§B.2, §F.3).
  const padded = new Float64Array(lSeg + nFft);
  for (let p = 0; p < padded.length; p++) {
    let m = p - half; // index into the segment
    if (m < 0) {
      m = -m; // left: pad_left[j] = x[n_fft/2 − j]
    } else if (m >= lSeg) {
      m = 2 * (lSeg - 1) - m; // right: pad_right[j] = x[L − 2 − j]
    }
    padded[p] = segment[m];
  }

  const re = new Float64Array(dimF * dimT);
  const im = new Float64Array(dimF * dimT);
  const frame = new Float64Array(nFft);
  // The frame is real, so x[i] and x[N − i] (i = 1..N/2−1) share cos(2πki/N) and have opposite sin(2πki/N):
  // fold them first, which halves the direct sum without changing what it computes.
  //   Re X_k = x[0] + (−1)^k·x[N/2] + Σ_{i=1}^{N/2−1} (x[i] + x[N−i])·cos(2πki/N)
  //   Im X_k = −Σ_{i=1}^{N/2−1} (x[i] − x[N−i])·sin(2πki/N)
  const evenPart = new Float64Array(half);
  const oddPart = new Float64Array(half);
  for (let t = 0; t < dimT; t++) {
    for (let i = 0; i < nFft; i++) frame[i] = padded[t * HOP + i] * window[i];
    for (let i = 1; i < half; i++) {
      evenPart[i] = frame[i] + frame[nFft - i];
      oddPart[i] = frame[i] - frame[nFft - i];
    }
    for (let k = 0; k < dimF; k++) {
      let sumRe = frame[0] + (k % 2 === 0 ? frame[half] : -frame[half]);
      let sumIm = 0;
      let angle = k % nFft; // (k·i) mod N for i = 1, advanced incrementally
      for (let i = 1; i < half; i++) {
        sumRe += evenPart[i] * cos[angle];
        sumIm -= oddPart[i] * sin[angle];
        angle += k;
        if (angle >= nFft) angle -= nFft;
      }
      re[k * dimT + t] = sumRe;
      im[k * dimT + t] = sumIm;
    }
  }
  return { re, im };
}

// ---------------------------------------------------------------------------------------------------------------
// iSTFT (§B.5; torch.istft with center=True, no `length`)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Inverse of one channel of one segment (§B.5). Returns L_seg samples.
 * 1. Bins 0..dim_f−1 come from the model, bins dim_f..n_fft/2 are zero (KF13 `freq_pad`), Nyquist included.
 * 2. frame_t = irfft(spectrum_t, n_fft): real output, 1/n_fft scale, imag(DC) and imag(Nyquist) ignored.
 * 3. Overlap-add frame_t·w and w² over n_fft + hop·(dim_t − 1) samples.
 * 4. Divide by the real envelope, keep [n_fft/2, n_fft/2 + L_seg).
 */
export function referenceIstft(spec: Spectrogram, geometry: Geometry): Float64Array {
  checkGeometry(geometry);
  const { nFft, dimF, dimT } = geometry;
  const { lSeg } = segmentSizes(geometry);
  if (spec.re.length !== dimF * dimT || spec.im.length !== dimF * dimT) {
    throw new Error('spectrogram size does not match geometry');
  }
  const { window, cos, sin } = dftTables(nFft);
  const half = nFft / 2;
  // Bins 1..n_fft/2−1 are counted twice (they stand for themselves and their conjugate mirror); the crop may
  // stop before n_fft/2, and the Nyquist bin (present only when dim_f = n_fft/2 + 1) is counted once.
  const lastInterior = Math.min(dimF, half) - 1;
  const hasNyquist = dimF > half;

  const fullLength = nFft + HOP * (dimT - 1);
  const y = new Float64Array(fullLength);
  const env = new Float64Array(fullLength);
  const frame = new Float64Array(nFft);
  const columnRe = new Float64Array(dimF);
  const columnIm = new Float64Array(dimF);
  for (let t = 0; t < dimT; t++) {
    // The spectrum of frame t (a column of the time-fastest layout).
    for (let k = 0; k < dimF; k++) {
      columnRe[k] = spec.re[k * dimT + t];
      columnIm[k] = spec.im[k * dimT + t];
    }
    const dc = columnRe[0]; // imag(DC) ignored (§B.5 step 2)
    const nyquist = hasNyquist ? columnRe[half] : 0; // imag(Nyquist) ignored by irfft
    // irfft: x[n] = (1/N)·(Re X_0 + (−1)^n·Re X_{N/2} + 2·Σ_{k=1}^{N/2−1} (Re X_k·cos(2πkn/N) − Im X_k·sin(2πkn/N))).
    // x[n] and x[N − n] share the cosine sum C_n and have opposite sine sums S_n (N is even), so compute both.
    for (let n = 0; n <= half; n++) {
      let sumCos = 0;
      let sumSin = 0;
      let angle = n; // (k·n) mod N for k = 1, advanced incrementally
      for (let k = 1; k <= lastInterior; k++) {
        sumCos += columnRe[k] * cos[angle];
        sumSin += columnIm[k] * sin[angle];
        angle += n;
        if (angle >= nFft) angle -= nFft;
      }
      const edge = dc + (n % 2 === 0 ? nyquist : -nyquist);
      frame[n] = (edge + 2 * (sumCos - sumSin)) / nFft;
      if (n > 0 && n < half) frame[nFft - n] = (edge + 2 * (sumCos + sumSin)) / nFft;
    }
    for (let i = 0; i < nFft; i++) {
      y[t * HOP + i] += frame[i] * window[i];
      env[t * HOP + i] += window[i] * window[i];
    }
  }

  const out = new Float64Array(lSeg);
  for (let j = 0; j < lSeg; j++) {
    const e = env[half + j];
    if (!(e > 1e-11)) throw new Error(`iSTFT window envelope too small (${e}) at ${half + j} (NOLA, §B.5)`);
    out[j] = y[half + j] / e;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// demix_base (§B.3): one chunk → segments → one model call with batch K → iSTFT → trim → concatenate
// ---------------------------------------------------------------------------------------------------------------

async function demixBase(mix: Stereo, model: ModelFn64, geometry: Geometry): Promise<Stereo> {
  const { dimF, dimT } = geometry;
  const { lSeg, trim, gen } = segmentSizes(geometry);
  const nSample = mix[0].length;

  // pad = gen − (N mod gen); when N mod gen = 0 this is a whole extra segment of zeros (§B.3, §F.5).
  const pad = gen - (nSample % gen);

  // P = [trim zeros | c | pad zeros | trim zeros]
  const mixP: Stereo = [
    new Float64Array(trim + nSample + pad + trim),
    new Float64Array(trim + nSample + pad + trim),
  ];
  for (let c = 0; c < 2; c++) mixP[c].set(mix[c], trim);

  // Segments P[k·gen, k·gen + L_seg) for i = 0, gen, 2·gen, … < N + pad  (K = (N + pad)/gen)
  const segments: Stereo[] = [];
  for (let i = 0; i < nSample + pad; i += gen) {
    segments.push([mixP[0].slice(i, i + lSeg), mixP[1].slice(i, i + lSeg)]);
  }
  const K = segments.length;

  // STFT of every segment and channel, packed as [K, 4, dim_f, dim_t]: ((k·4 + c)·dim_f + f)·dim_t + t (§B.1).
  const plane = dimF * dimT;
  const input = new Float64Array(K * 4 * plane);
  for (let k = 0; k < K; k++) {
    for (let channel = 0; channel < 2; channel++) {
      const spec = referenceStft(segments[k][channel], geometry);
      input.set(spec.re, (k * 4 + 2 * channel + 0) * plane); // 0 = L-re, 2 = R-re
      input.set(spec.im, (k * 4 + 2 * channel + 1) * plane); // 1 = L-im, 3 = R-im
    }
  }

  // ONE model run per chunk, with batch K (KF13 `_ort.run(None, {'input': ...})[0]`).
  const dims: TensorDims = [K, 4, dimF, dimT];
  const output = await model(input, dims);
  if (output.length !== input.length) {
    throw new Error(
      `model returned ${output.length} values, expected ${input.length} for [${dims.join(', ')}]`,
    );
  }

  // iSTFT each segment/channel, keep [trim, L_seg − trim), concatenate in order, then drop the last `pad`.
  const tarSignal: Stereo = [new Float64Array(nSample), new Float64Array(nSample)];
  for (let channel = 0; channel < 2; channel++) {
    const concatenated = new Float64Array(K * gen);
    for (let k = 0; k < K; k++) {
      const spec: Spectrogram = {
        re: output.slice((k * 4 + 2 * channel + 0) * plane, (k * 4 + 2 * channel + 1) * plane),
        im: output.slice((k * 4 + 2 * channel + 1) * plane, (k * 4 + 2 * channel + 2) * plane),
      };
      const wave = referenceIstft(spec, geometry);
      concatenated.set(wave.subarray(trim, lSeg - trim), k * gen);
    }
    tarSignal[channel].set(concatenated.subarray(0, K * gen - pad)); // K·gen − pad = N
  }
  return tarSignal;
}

// ---------------------------------------------------------------------------------------------------------------
// demix_full (§B.4): bigshifts (circular rolls by whole seconds), chunks, acc/cnt averaging, mean over shifts
// ---------------------------------------------------------------------------------------------------------------

/** numpy-style roll: out[(i + shift) mod n] = x[i]; roll(x, +s) moves the last s samples to the front. */
function roll(x: Float64Array, shift: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const s = ((shift % n) + n) % n;
  for (let i = 0; i < n; i++) out[(i + s) % n] = x[i];
  return out;
}

/** The shift count actually used by KF13 `demix_full` for a requested S and n samples (§B.4 step 1, §F.7). */
export function effectiveShiftCount(requested: number, n: number): number {
  let shiftNumber = requested;
  if (shiftNumber < 1) shiftNumber = 1;
  const mixLength = n / SAMPLE_RATE;
  // Python: `if shift_number > int(mix_length): shift_number = int(mix_length - 1)`; int() truncates toward
  // zero, which equals the spec's floor whenever the result is >= 1 (the only case the guard below keeps).
  if (shiftNumber > Math.trunc(mixLength)) shiftNumber = Math.trunc(mixLength - 1);
  // Guard (spec §B.4 step 1 / §F.7): for audio shorter than ~2 s the clamp gives 0 (or less). Python would then
  // run no shift at all and np.mean([]) would return NaN; the port runs exactly one (unshifted) pass instead.
  if (shiftNumber < 1) shiftNumber = 1;
  return shiftNumber;
}

async function demixFull(
  mix: Stereo,
  model: ModelFn64,
  geometry: Geometry,
  chunkSize: number,
  overlap: number,
  bigshifts: number,
): Promise<Stereo> {
  const n = mix[0].length;
  const step = Math.floor(chunkSize * (1 - overlap));
  if (!(step >= 1)) throw new Error(`chunk step must be >= 1 (chunkSize ${chunkSize}, overlap ${overlap})`);
  const shiftNumber = effectiveShiftCount(bigshifts, n);

  const results: Stereo[] = [];
  for (let shift = 0; shift < shiftNumber; shift++) {
    // v1.3: a shift of `shift` whole seconds; circular rotation to the right (§B.4 step 2, §F.7).
    const shiftSamples = shift * SAMPLE_RATE;
    const shiftedMix: Stereo = [roll(mix[0], shiftSamples), roll(mix[1], shiftSamples)];

    const result: Stereo = [new Float64Array(n), new Float64Array(n)];
    const divider = new Float64Array(n);
    for (let i = 0; i < n; i += step) {
      const start = i;
      const end = Math.min(i + chunkSize, n);
      const mixPart: Stereo = [shiftedMix[0].slice(start, end), shiftedMix[1].slice(start, end)];
      const sources = await demixBase(mixPart, model, geometry);
      for (let j = start; j < end; j++) {
        result[0][j] += sources[0][j - start];
        result[1][j] += sources[1][j - start];
        divider[j] += 1;
      }
    }
    for (let j = 0; j < n; j++) {
      result[0][j] /= divider[j];
      result[1][j] /= divider[j];
    }
    // Rotate back.
    results.push([roll(result[0], -shiftSamples), roll(result[1], -shiftSamples)]);
  }

  // Arithmetic mean over the shifts (§B.4 step 3).
  const mean: Stereo = [new Float64Array(n), new Float64Array(n)];
  for (const r of results) {
    for (let j = 0; j < n; j++) {
      mean[0][j] += r[0][j];
      mean[1][j] += r[1][j];
    }
  }
  for (let j = 0; j < n; j++) {
    mean[0][j] /= results.length;
    mean[1][j] /= results.length;
  }
  return mean;
}

// ---------------------------------------------------------------------------------------------------------------
// SRS resampling (§D.3 items 1–2): scipy resample_poly(x, up, down) with its default Kaiser(5.0) window
// ---------------------------------------------------------------------------------------------------------------

/** Modified Bessel function of the first kind, order 0: I0(x) = Σ_k ((x/2)^k / k!)². */
export function besselI0(x: number): number {
  const q = (x / 2) * (x / 2);
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * The resample_poly filter for (up, down) (§D.3 item 1): m = max(up, down), half = 10·m, 2·half + 1 taps,
 * h[j] = (1/m)·sinc((j − half)/m)·kaiser(β = 5)[j], normalized to Σh = 1, then × up.
 * This is scipy `firwin(2·half + 1, 1/m, window=('kaiser', 5.0))·up`.
 */
export function resamplePolyFilter(up: number, down: number): Float64Array {
  const m = Math.max(up, down);
  const half = 10 * m;
  const taps = 2 * half + 1;
  const beta = 5.0;
  const h = new Float64Array(taps);
  let sum = 0;
  for (let j = 0; j < taps; j++) {
    const u = (j - half) / m;
    const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
    const r = (2 * j) / (taps - 1) - 1;
    const kaiser = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(beta);
    h[j] = (1 / m) * sinc * kaiser;
    sum += h[j];
  }
  for (let j = 0; j < taps; j++) h[j] = (h[j] / sum) * up;
  return h;
}

/**
 * scipy `resample_poly(x, up, down)` (defaults), written as the naive zero-stuffing filter of §D.3 item 1:
 * x_up[j·up] = x[j] (zero elsewhere), y[q] = Σ_j h[j]·x_up[q·down + half − j], q = 0..ceil(n·up/down) − 1.
 */
export function referenceResamplePoly(x: Float64Array, up: number, down: number): Float64Array {
  const h = resamplePolyFilter(up, down);
  const half = (h.length - 1) / 2;
  const n = x.length;
  const upLength = n * up;
  const nOut = Math.ceil((n * up) / down);
  const y = new Float64Array(nOut);
  for (let q = 0; q < nOut; q++) {
    let sum = 0;
    for (let j = 0; j < h.length; j++) {
      const u = q * down + half - j; // index into the zero-stuffed signal
      if (u < 0 || u >= upLength || u % up !== 0) continue; // outside x_up, or a stuffed zero
      sum += h[j] * x[u / up];
    }
    y[q] = sum;
  }
  return y;
}

/** KF13 `Change_sample_rate(data, up, down)`: resample_poly along time, per channel. */
function changeSampleRate(data: Stereo, up: number, down: number): Stereo {
  return [referenceResamplePoly(data[0], up, down), referenceResamplePoly(data[1], up, down)];
}

// ---------------------------------------------------------------------------------------------------------------
// Extract_with_Model (§B.6) + compensation + length fit (§D.3 item 2, §F.19)
// ---------------------------------------------------------------------------------------------------------------

function negate(a: Stereo): Stereo {
  return [a[0].map((v) => -v), a[1].map((v) => -v)];
}

/** Cut or zero-pad the end to `length` (KF13 `match_array_shapes`). */
function fitLength(x: Float64Array, length: number): Float64Array {
  const out = new Float64Array(length);
  out.set(x.subarray(0, Math.min(length, x.length)));
  return out;
}

async function extractCore(
  left: Float64Array,
  right: Float64Array,
  model: ModelFn64,
  geometry: Geometry,
  opts: ExtractOptions,
): Promise<{ left: Float64Array; right: Float64Array }> {
  checkGeometry(geometry);
  if (left.length !== right.length) throw new Error('left and right must have the same length');
  if (!(Number.isInteger(opts.chunkSize) && opts.chunkSize >= 1)) throw new Error('chunkSize must be >= 1');
  const overlap = opts.overlap ?? 0;
  const n = left.length;
  const audio: Stereo = [Float64Array.from(left), Float64Array.from(right)];
  if (n === 0) return { left: new Float64Array(0), right: new Float64Array(0) };

  // F(a) = demix_full(a) with all its shifts (§B.4).
  const F = (a: Stereo): Promise<Stereo> =>
    demixFull(a, model, geometry, opts.chunkSize, overlap, opts.shifts);

  let source: Stereo;
  if (!opts.denoise) {
    // KF13 TEST_MODE: one pass.
    source = opts.srs ? changeSampleRate(await F(changeSampleRate(audio, 5, 4)), 4, 5) : await F(audio);
  } else if (!opts.srs) {
    // Pass 1 on the negated input, negated back; then pass 2 on the input (§B.6, §F.8).
    const pass1 = negate(await F(negate(audio)));
    const pass2 = await F(audio);
    source = [
      pass1[0].map((v, j) => 0.5 * v + 0.5 * pass2[0][j]),
      pass1[1].map((v, j) => 0.5 * v + 0.5 * pass2[1][j]),
    ];
  } else {
    // SRS: Extract_srs(a) = 0.5·D(−F(U(−a))) + 0.5·D(F(U(a))), U = up 5/down 4, D = up 4/down 5 (§B.6, §D.3).
    const pass1 = changeSampleRate(negate(await F(changeSampleRate(negate(audio), 5, 4))), 4, 5);
    const pass2 = changeSampleRate(await F(changeSampleRate(audio, 5, 4)), 4, 5);
    source = [
      pass1[0].map((v, j) => 0.5 * v + 0.5 * pass2[0][j]),
      pass1[1].map((v, j) => 0.5 * v + 0.5 * pass2[1][j]),
    ];
  }

  // D(U(·)) can be one sample longer than the input (§F.19): cut or zero-pad to the input length; then × comp.
  // (Python multiplies first and fits after; both are linear and elementwise, so the order does not matter.)
  const outLeft = fitLength(source[0], n).map((v) => v * opts.compensate);
  const outRight = fitLength(source[1], n).map((v) => v * opts.compensate);
  return { left: outLeft, right: outRight };
}

/**
 * The Extract primitive (KF13 `Extract_with_Model`, §B.6), followed by × compensate (§D.1) and the length fit.
 * The model sees float32 tensors, as onnxruntime would.
 */
export async function referenceExtract(
  left: Float32Array,
  right: Float32Array,
  model: ModelFn,
  geometry: Geometry,
  opts: ExtractOptions,
): Promise<{ left: Float64Array; right: Float64Array }> {
  const model64: ModelFn64 = async (input, dims) => {
    const out = await model(Float32Array.from(input), dims);
    return Float64Array.from(out);
  };
  return extractCore(Float64Array.from(left), Float64Array.from(right), model64, geometry, opts);
}

/** Same as referenceExtract, but float64 across the model boundary (for exact algebraic tests). */
export async function referenceExtractFloat64(
  left: Float64Array,
  right: Float64Array,
  model: ModelFn64,
  geometry: Geometry,
  opts: ExtractOptions,
): Promise<{ left: Float64Array; right: Float64Array }> {
  return extractCore(left, right, model, geometry, opts);
}
