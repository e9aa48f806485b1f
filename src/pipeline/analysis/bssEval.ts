/**
 * BSS Eval v4 separation metrics (SDR, SIR, SAR, ISR), computed as museval does for
 * `museval.evaluate(references, estimates, win=44100, hop=44100, mode='v4')` (sigsep/sigsep-mus-eval,
 * museval/metrics.py `bss_eval` with compute_permutation=False, framewise_filters=False,
 * bsseval_sources_version=False, filters_len=512; Liutkus, Stöter & Ito, "The 2018 Signal Separation
 * Evaluation Campaign", LVA/ICA 2018; Vincent, Gribonval & Févotte, IEEE TASLP 14(4), 2006).
 *
 * The algorithm, museval's, restated:
 *  1. the inner products between every reference channel delayed by 0…L−1 samples (the Gram matrix G) and between
 *     those delayed references and every estimate channel (D) are taken over the whole signals;
 *  2. per target j, least-squares distortion filters: C_j from all references ((G + εI)·C_j = D_j, for SIR/SAR),
 *     and C′_j from reference j alone (the j block of G, for ISR), each with L taps from every reference channel to
 *     every estimate channel;
 *  3. per 1 s frame, the frame of the references (zero outside it) is filtered: P′ = C′_j ∗ ref_j and
 *     P = C_j ∗ refs, over the frame length + L − 1 samples, and with s = ref_j the estimate splits into
 *     e_spat = P′ − s, e_interf = P − P′, e_artif = est − P, giving
 *     SDR = 10 log10(‖s‖² / ‖est − s‖²), ISR = 10 log10(‖s‖² / ‖e_spat‖²),
 *     SIR = 10 log10(‖P′‖² / ‖e_interf‖²), SAR = 10 log10(‖P‖² / ‖e_artif‖²)  (museval `_bss_crit`);
 *  4. a frame where any reference or estimate is digital silence (left + right = 0 at every sample) is NaN for
 *     every target; the per-track figure is the median over frames, NaN (and ±∞) skipped (museval/aggregate.py
 *     TrackStore: `_q` turns ±∞ into NaN, then np.nanmedian).
 *
 * Why it is fast: museval takes the correlations with FFTs the size of the whole song; here they are summed block
 * by block in the frequency domain (only lags |k| < L are needed), G is factored once (Cholesky, or LU with
 * partial pivoting where Cholesky meets a non-positive pivot) and reused for every target, and the frame
 * projections are overlap-add FFT convolutions.
 *
 * Why a float64 FFT of its own rather than createRealFft (PFFFT, float32): G of real music is ill-conditioned
 * (condition number ~1e13 on a MUSDB18 clip), and correlations with float32 rounding moved SIR/SAR by up to 14 dB
 * against museval's float64 ones (measured with tests/reference/bss_eval_reference.py); in float64 this code agrees
 * with it within 2e-3 dB on MUSDB18 clips (6e-3 dB where G is singular: identical left and right channels).
 */
import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import { globalSdr } from './sdr.js';

export interface BssEvalOptions {
  /** frame length in samples; default 44100 (museval evaluate: win = 1 s) */
  windowSamples?: number;
  /** hop between frames in samples; default 44100 (museval evaluate: hop = 1 s) */
  hopSamples?: number;
  /** distortion filter length in taps; default 512 (museval bss_eval filters_len) */
  filterLength?: number;
}

/**
 * One frame's metrics in dB. NaN for a silent frame; +∞ where museval's `_safe_db` gives it (an error of exactly
 * zero, e.g. the SDR of a perfect estimate).
 */
export interface FrameScores {
  /** frame start, s */
  time: number;
  /** frame length, s (the window, or the whole signal when it is shorter) */
  duration: number;
  SDR: number;
  SIR: number;
  SAR: number;
  ISR: number;
}

/**
 * One target's scores: per-frame values and their medians (dB) over the frames where they are finite, NaN when
 * none is (museval's TrackStore stores ±∞ as NaN before np.nanmedian).
 */
export interface TargetScores {
  SDR: number;
  SIR: number;
  SAR: number;
  ISR: number;
  /** globalSdr() of the whole reference and (padded) estimate, dB */
  globalSDR: number;
  frames: FrameScores[];
}

// museval/__init__.py evaluate(): win = 1·44100, hop = 1·44100
const DEFAULT_WINDOW = SAMPLE_RATE;
const DEFAULT_HOP = SAMPLE_RATE;
// museval/metrics.py bss_eval: filters_len = 512
const DEFAULT_FILTER_LENGTH = 512;
const CHANNELS = 2;
// museval _compute_projection_filters solves (G + eps·I) C = D with eps = np.finfo(float).eps
const GRAM_EPSILON = Number.EPSILON;
// FFT sizes of the block-wise correlations and the overlap-add projections (speed only: any size > 2L works)
const CORRELATION_FFT_MIN = 16384;
const PROJECTION_FFT_MIN = 8192;

/**
 * BSS Eval v4 of `estimates[j]` against `references[j]`, all targets jointly (SIR needs every reference), as
 * museval.evaluate(..., mode='v4'). Estimates are cut or zero-padded at the end to the references' length
 * (museval pad_or_truncate).
 *
 * @param references nsrc stereo signals, all of one length
 * @param estimates nsrc stereo signals, all of one length (it may differ from the references'), in the order of
 *   `references`
 * @returns one TargetScores per target, in order
 * @throws RangeError on mismatched counts or lengths, or a reference or estimate that is entirely silent
 *   (museval refuses those: the projection is undefined)
 */
export async function bssEvalV4(
  references: readonly Stereo[],
  estimates: readonly Stereo[],
  options: BssEvalOptions = {},
): Promise<TargetScores[]> {
  return scoreTargets(
    references,
    estimates,
    options,
    references.map((_, j) => String(j)),
  );
}

/**
 * bssEvalV4 over named targets: every name of `estimates` must be in `references` and vice versa. Targets are
 * evaluated jointly, in the order of `references`' keys; error messages name them.
 */
export async function evaluateTargets(
  references: Record<string, Stereo>,
  estimates: Record<string, Stereo>,
  options?: BssEvalOptions,
): Promise<Record<string, TargetScores>> {
  const names = Object.keys(references);
  const missing = names.filter((name) => !(name in estimates));
  const extra = Object.keys(estimates).filter((name) => !(name in references));
  if (missing.length > 0 || extra.length > 0) {
    const problems = [
      ...(missing.length ? [`no estimate for ${missing.join(', ')}`] : []),
      ...(extra.length ? [`no reference for ${extra.join(', ')}`] : []),
    ];
    throw new RangeError(`targets differ: ${problems.join('; ')}`);
  }
  const scores = await scoreTargets(
    names.map((name) => references[name]),
    names.map((name) => estimates[name]),
    options ?? {},
    names.map((name) => `"${name}"`),
  );
  return Object.fromEntries(names.map((name, j) => [name, scores[j]]));
}

async function scoreTargets(
  references: readonly Stereo[],
  estimates: readonly Stereo[],
  options: BssEvalOptions,
  labels: readonly string[],
): Promise<TargetScores[]> {
  const window = positiveInteger('windowSamples', options.windowSamples ?? DEFAULT_WINDOW);
  const hop = positiveInteger('hopSamples', options.hopSamples ?? DEFAULT_HOP);
  const filterLength = positiveInteger('filterLength', options.filterLength ?? DEFAULT_FILTER_LENGTH);
  const { refs, ests, length } = fitSignals(references, estimates, labels);
  const nsrc = references.length;

  const correlations = lagCorrelations(refs, ests, filterLength);
  // step 2: C_j (all references) share one factorisation of G; C′_j (reference j alone) use G's j block
  const all = Array.from({ length: nsrc }, (_, j) => j);
  const allFilters = solveGram(correlations, all, filterLength, all);
  const selfFilters = all.map((j) => solveGram(correlations, [j], filterLength, [j])[0]);

  const frames = frameScores(refs, ests, length, window, hop, filterLength, allFilters, selfFilters);
  const fittedEstimates = ests.map(([left, right]): Stereo => ({ left, right }));
  return frames.map((perFrame, j) => ({
    SDR: finiteMedian(perFrame.map((f) => f.SDR)),
    SIR: finiteMedian(perFrame.map((f) => f.SIR)),
    SAR: finiteMedian(perFrame.map((f) => f.SAR)),
    ISR: finiteMedian(perFrame.map((f) => f.ISR)),
    globalSDR: globalSdr(references[j], fittedEstimates[j]),
    frames: perFrame,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

type Channels = [Float32Array, Float32Array];

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer ≥ 1 (got ${value})`);
  }
  return value;
}

/**
 * museval's preconditions: as many estimates as references, references of one length, estimates of one length
 * (numpy needs a rectangular array), then estimates fitted to the reference length (pad_or_truncate), and no
 * source silent over the whole signal (metrics.validate).
 */
function fitSignals(
  references: readonly Stereo[],
  estimates: readonly Stereo[],
  labels: readonly string[],
): { refs: Channels[]; ests: Channels[]; length: number } {
  if (references.length === 0) throw new RangeError('no references');
  if (references.length !== estimates.length) {
    throw new RangeError(`${references.length} references but ${estimates.length} estimates`);
  }
  const lengthOf = (audio: Stereo, what: string): number => {
    if (audio.left.length !== audio.right.length) {
      throw new RangeError(
        `${what}: left and right lengths differ (${audio.left.length} vs ${audio.right.length})`,
      );
    }
    return audio.left.length;
  };
  const referenceLengths = references.map((audio, j) => lengthOf(audio, `reference ${labels[j]}`));
  const estimateLengths = estimates.map((audio, j) => lengthOf(audio, `estimate ${labels[j]}`));
  const length = referenceLengths[0];
  if (length === 0) throw new RangeError('the references are empty');
  const differ = (lengths: number[]): string => lengths.map((n, j) => `${labels[j]} ${n}`).join(', ');
  if (referenceLengths.some((n) => n !== length)) {
    throw new RangeError(`references differ in length (samples: ${differ(referenceLengths)})`);
  }
  if (estimateLengths.some((n) => n !== estimateLengths[0])) {
    throw new RangeError(`estimates differ in length (samples: ${differ(estimateLengths)})`);
  }
  const fit = (x: Float32Array): Float32Array => {
    if (x.length === length) return x;
    if (x.length > length) return x.subarray(0, length);
    const out = new Float32Array(length);
    out.set(x);
    return out;
  };
  const refs = references.map((a): Channels => [a.left, a.right]);
  const ests = estimates.map((a): Channels => [fit(a.left), fit(a.right)]);
  for (const [what, signals] of [
    ['reference', refs],
    ['estimate', ests],
  ] as const) {
    signals.forEach((ch, j) => {
      if (isSilent(ch, 0, length)) {
        throw new RangeError(`${what} ${labels[j]} is silent throughout: BSS Eval is undefined for it`);
      }
    });
  }
  return { refs, ests, length };
}

/** museval `_any_source_silent` for one source: the sum over channels is 0 at every sample of [from, to). */
function isSilent([left, right]: Channels, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (left[i] + right[i] !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Step 1: lag correlations

interface LagCorrelations {
  /**
   * refRef[p][q] (p ≤ q, p = 2·source + channel): index k + L − 1 holds Σₙ ref_p[n]·ref_q[n + k], |k| < L
   */
  refRef: Float64Array[][];
  /** estRef[e][p]: index k + L − 1 holds Σₙ est_e[n]·ref_p[n + k] */
  estRef: Float64Array[][];
}

/**
 * Cross-correlations at lags −(L−1)…L−1, summed block by block in the frequency domain: for a block of u at
 * [s, s+B) and the segment of v at [s − L + 1, s + B + L − 1), IFFT(conj(Û)·V̂)[m] = Σ u[n]·v[n + m − L + 1] without
 * wrap-around when the FFT size is ≥ B + 2L − 2. One inverse FFT per pair at the end.
 */
function lagCorrelations(refs: Channels[], ests: Channels[], filterLength: number): LagCorrelations {
  const lags = 2 * filterLength - 1;
  const size = nextPowerOfTwo(Math.max(CORRELATION_FFT_MIN, 4 * filterLength));
  const block = size - 2 * (filterLength - 1);
  const bins = size / 2 + 1;
  const fft = new Fft64(size);
  const refChannels = refs.flat();
  const estChannels = ests.flat();
  const count = refChannels.length;
  const length = refChannels[0].length;
  const spectrum = (): Complex => ({ re: new Float64Array(bins), im: new Float64Array(bins) });
  const refPlain = refChannels.map(spectrum);
  const refWide = refChannels.map(spectrum);
  const estPlain = estChannels.map(spectrum);
  const accRefRef = refChannels.map((_, p) => refChannels.map((__, q) => (q >= p ? spectrum() : undefined)));
  const accEstRef = estChannels.map(() => refChannels.map(spectrum));

  for (let start = 0; start < length; start += block) {
    const plainFrom = start;
    const plainTo = Math.min(start + block, length);
    const wideFrom = start - (filterLength - 1);
    const wideTo = Math.min(start + block + filterLength - 1, length);
    for (let p = 0; p < count; p += 2) {
      fft.forwardPair(
        refChannels[p],
        refChannels[p + 1],
        plainFrom,
        plainFrom,
        plainTo,
        refPlain[p],
        refPlain[p + 1],
      );
      fft.forwardPair(refChannels[p], refChannels[p + 1], wideFrom, 0, wideTo, refWide[p], refWide[p + 1]);
      fft.forwardPair(
        estChannels[p],
        estChannels[p + 1],
        plainFrom,
        plainFrom,
        plainTo,
        estPlain[p],
        estPlain[p + 1],
      );
    }
    for (let p = 0; p < count; p++) {
      for (let q = p; q < count; q++) accumulateConjProduct(accRefRef[p][q]!, refPlain[p], refWide[q]);
    }
    for (let e = 0; e < count; e++) {
      for (let p = 0; p < count; p++) accumulateConjProduct(accEstRef[e][p], estPlain[e], refWide[p]);
    }
  }

  const first = (spectra: Complex[]): Float64Array[] => fft.inverseFirst(spectra, lags);
  const refRef = accRefRef.map((row, p) => {
    const out = first(row.slice(p) as Complex[]);
    return row.map((_, q) => (q >= p ? out[q - p] : new Float64Array(0)));
  });
  const estRef = accEstRef.map((row) => first(row));
  return { refRef, estRef };
}

function accumulateConjProduct(acc: Complex, u: Complex, v: Complex): void {
  const { re, im } = acc;
  const ur = u.re;
  const ui = u.im;
  const vr = v.re;
  const vi = v.im;
  for (let k = 0; k < re.length; k++) {
    re[k] += ur[k] * vr[k] + ui[k] * vi[k];
    im[k] += ur[k] * vi[k] - ui[k] * vr[k];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Step 2: distortion filters

/**
 * Filters of L taps: taps[p][c] (p over the channels of `sources`, in order) filter reference channel p into
 * estimate channel c; one Filters per target of `targets`.
 */
type Filters = Float64Array[][];

/**
 * Least-squares filters projecting each estimate of `targets` on the references of `sources` delayed by 0…L−1:
 * (G + εI)·C = D (museval _compute_projection_filters), G factored once for every target.
 * Rows are ordered (source, channel, lag) as museval's _reshape_G.
 */
function solveGram(
  correlations: LagCorrelations,
  sources: readonly number[],
  filterLength: number,
  targets: readonly number[],
): Filters[] {
  const L = filterLength;
  const channelsOf = sources.flatMap((j) => [CHANNELS * j, CHANNELS * j + 1]);
  const n = channelsOf.length * L;
  const gram = (): Float64Array => {
    const g = new Float64Array(n * n);
    channelsOf.forEach((p, pi) => {
      channelsOf.forEach((q, qi) => {
        for (let a = 0; a < L; a++) {
          const row = (pi * L + a) * n + qi * L;
          if (p <= q) {
            // ⟨ref_p(· − a), ref_q(· − b)⟩ = Σ ref_p[n]·ref_q[n + a − b]
            const r = correlations.refRef[p][q];
            for (let b = 0; b < L; b++) g[row + b] = r[a - b + L - 1];
          } else {
            const r = correlations.refRef[q][p];
            for (let b = 0; b < L; b++) g[row + b] = r[b - a + L - 1];
          }
        }
      });
    });
    for (let i = 0; i < n; i++) g[i * n + i] += GRAM_EPSILON;
    return g;
  };
  // right-hand sides, CHANNELS per target: ⟨ref_p(· − a), est_c⟩ = Σ est_c[n]·ref_p[n − a]
  const columns = targets.length * CHANNELS;
  const rhs = new Float64Array(n * columns);
  targets.forEach((t, ti) => {
    for (let c = 0; c < CHANNELS; c++) {
      const column = ti * CHANNELS + c;
      channelsOf.forEach((p, pi) => {
        const r = correlations.estRef[CHANNELS * t + c][p];
        for (let a = 0; a < L; a++) rhs[(pi * L + a) * columns + column] = r[L - 1 - a];
      });
    }
  });
  const solution = solveSymmetric(gram, n, rhs, columns);
  return targets.map((_, ti) =>
    channelsOf.map((__, pi) =>
      Array.from({ length: CHANNELS }, (___, c) => {
        const taps = new Float64Array(L);
        for (let a = 0; a < L; a++) taps[a] = solution[(pi * L + a) * columns + ti * CHANNELS + c];
        return taps;
      }),
    ),
  );
}

/**
 * Solves A·X = B for symmetric A (n × n, row-major, made by `build`) and B (n × m, row-major). Cholesky, which
 * halves the work of numpy's LU; where A is not numerically positive definite (e.g. a reference whose two channels
 * are identical makes G singular), LU with partial pivoting like numpy.linalg.solve.
 */
function solveSymmetric(build: () => Float64Array, n: number, rhs: Float64Array, m: number): Float64Array {
  const a = build();
  if (choleskyInPlace(a, n)) {
    const x = rhs.slice();
    // L·y = b, then Lᵀ·x = y
    for (let i = 0; i < n; i++) {
      const row = i * n;
      for (let k = 0; k < i; k++) {
        const l = a[row + k];
        if (l !== 0) for (let c = 0; c < m; c++) x[i * m + c] -= l * x[k * m + c];
      }
      for (let c = 0; c < m; c++) x[i * m + c] /= a[row + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      const d = a[i * n + i];
      for (let c = 0; c < m; c++) x[i * m + c] /= d;
      for (let k = 0; k < i; k++) {
        const l = a[i * n + k];
        if (l !== 0) for (let c = 0; c < m; c++) x[k * m + c] -= l * x[i * m + c];
      }
    }
    return x;
  }
  return luSolve(build(), n, rhs.slice(), m);
}

/**
 * Lower Cholesky factor in the lower triangle of `a`; false on a non-positive pivot. Row-oriented (each entry a dot
 * product of two row prefixes), four rows against two earlier rows at a time: G (33 MB for two stereo targets) is
 * far larger than the caches, and this reads each earlier row once per four rows instead of once per row.
 */
function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let i0 = 0; i0 < n; i0 += 4) {
    const rows = Math.min(4, n - i0);
    let j = 0;
    if (rows === 4) {
      const r0 = i0 * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (; j + 1 < i0; j += 2) {
        const ra = j * n;
        const rb = ra + n;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let b0 = 0;
        let b1 = 0;
        let b2 = 0;
        let b3 = 0;
        for (let k = 0; k < j; k++) {
          const va = a[ra + k];
          const vb = a[rb + k];
          const x0 = a[r0 + k];
          const x1 = a[r1 + k];
          const x2 = a[r2 + k];
          const x3 = a[r3 + k];
          a0 += x0 * va;
          a1 += x1 * va;
          a2 += x2 * va;
          a3 += x3 * va;
          b0 += x0 * vb;
          b1 += x1 * vb;
          b2 += x2 * vb;
          b3 += x3 * vb;
        }
        // column j, then column j + 1, whose sums also take the k = j term just found
        const da = a[ra + j];
        const y0 = (a[r0 + j] - a0) / da;
        const y1 = (a[r1 + j] - a1) / da;
        const y2 = (a[r2 + j] - a2) / da;
        const y3 = (a[r3 + j] - a3) / da;
        a[r0 + j] = y0;
        a[r1 + j] = y1;
        a[r2 + j] = y2;
        a[r3 + j] = y3;
        const lb = a[rb + j];
        const db = a[rb + j + 1];
        a[r0 + j + 1] = (a[r0 + j + 1] - (b0 + y0 * lb)) / db;
        a[r1 + j + 1] = (a[r1 + j + 1] - (b1 + y1 * lb)) / db;
        a[r2 + j + 1] = (a[r2 + j + 1] - (b2 + y2 * lb)) / db;
        a[r3 + j + 1] = (a[r3 + j + 1] - (b3 + y3 * lb)) / db;
      }
    }
    // what is left of the columns before the block, one row at a time
    for (; j < i0; j++) {
      const rj = j * n;
      for (let i = i0; i < i0 + rows; i++) {
        const ri = i * n;
        let s = 0;
        for (let k = 0; k < j; k++) s += a[ri + k] * a[rj + k];
        a[ri + j] = (a[ri + j] - s) / a[rj + j];
      }
    }
    // the triangle inside the block
    for (let i = i0; i < i0 + rows; i++) {
      const ri = i * n;
      for (let jj = i0; jj <= i; jj++) {
        const rj = jj * n;
        let s = 0;
        for (let k = 0; k < jj; k++) s += a[ri + k] * a[rj + k];
        const v = a[ri + jj] - s;
        if (i === jj) {
          if (!(v > 0)) return false;
          a[ri + i] = Math.sqrt(v);
        } else {
          a[ri + jj] = v / a[rj + jj];
        }
      }
    }
  }
  return true;
}

/** Gaussian elimination with partial pivoting (LAPACK gesv's method), in place; returns X in `b`. */
function luSolve(a: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const swapRows = (x: Float64Array, width: number, i: number, j: number): void => {
    for (let c = 0; c < width; c++) {
      const t = x[i * width + c];
      x[i * width + c] = x[j * width + c];
      x[j * width + c] = t;
    }
  };
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[pivot * n + k])) pivot = i;
    if (a[pivot * n + k] === 0) throw new RangeError('the references are linearly dependent: G is singular');
    if (pivot !== k) {
      swapRows(a, n, pivot, k);
      swapRows(b, m, pivot, k);
    }
    const rowK = k * n;
    const d = a[rowK + k];
    for (let i = k + 1; i < n; i++) {
      const rowI = i * n;
      const l = a[rowI + k] / d;
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) a[rowI + j] -= l * a[rowK + j];
      for (let c = 0; c < m; c++) b[i * m + c] -= l * b[k * m + c];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const rowI = i * n;
    for (let c = 0; c < m; c++) {
      let s = b[i * m + c];
      for (let j = i + 1; j < n; j++) s -= a[rowI + j] * b[j * m + c];
      b[i * m + c] = s / a[rowI + i];
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------------------------
// Step 3: frames

/** museval Framing: floor((n − window + hop)/hop) frames when window < n, else one; a last partial frame is dropped. */
function frameBounds(length: number, window: number, hop: number): [number, number][] {
  const count = window < length ? Math.floor((length - window + hop) / hop) : 1;
  return Array.from({ length: count }, (_, t) => [t * hop, Math.min(t * hop + window, length)]);
}

/** The energies of museval's _bss_crit (images version), accumulated over a frame. */
interface Energies {
  trueSource: number; // ‖s‖²
  distortion: number; // ‖e_spat + e_interf + e_artif‖²
  spatial: number; // ‖e_spat‖²
  image: number; // ‖s + e_spat‖²
  interference: number; // ‖e_interf‖²
  imageAndInterference: number; // ‖s + e_spat + e_interf‖²
  artifacts: number; // ‖e_artif‖²
}

function frameScores(
  refs: Channels[],
  ests: Channels[],
  length: number,
  window: number,
  hop: number,
  filterLength: number,
  allFilters: Filters[],
  selfFilters: Filters[],
): FrameScores[][] {
  const nsrc = refs.length;
  const L = filterLength;
  const size = nextPowerOfTwo(Math.max(PROJECTION_FFT_MIN, 4 * L));
  const block = size - (L - 1);
  const bins = size / 2 + 1;
  const fft = new Fft64(size);
  const spectrum = (): Complex => ({ re: new Float64Array(bins), im: new Float64Array(bins) });
  const filterSpectrum = (taps: Float64Array): Complex => {
    const out = spectrum();
    fft.forwardPair(taps, taps, 0, 0, taps.length, out, spectrum());
    return out;
  };
  // H[j][p][c]: spectra of C_j; Hs[j][c′][c]: spectra of C′_j
  const H = allFilters.map((f) => f.map((row) => row.map(filterSpectrum)));
  const Hs = selfFilters.map((f) => f.map((row) => row.map(filterSpectrum)));
  const refChannels = refs.flat();
  const inputs = refChannels.map(spectrum);
  const sumAll = spectrum();
  const sumSelf = spectrum();
  const outAll = new Float64Array(size);
  const outSelf = new Float64Array(size);
  // overlap-add tails, [j][c]
  const carryAll = refs.map(() => [new Float64Array(L - 1), new Float64Array(L - 1)]);
  const carrySelf = refs.map(() => [new Float64Array(L - 1), new Float64Array(L - 1)]);

  const result: FrameScores[][] = refs.map(() => []);
  for (const [from, to] of frameBounds(length, window, hop)) {
    const time = from / SAMPLE_RATE;
    const duration = (to - from) / SAMPLE_RATE;
    if (refs.some((ch) => isSilent(ch, from, to)) || ests.some((ch) => isSilent(ch, from, to))) {
      for (const target of result) target.push({ time, duration, SDR: NaN, SIR: NaN, SAR: NaN, ISR: NaN });
      continue;
    }
    const span = to - from + L - 1; // museval pads the frame with L − 1 zeros
    const energies: Energies[] = refs.map(() => ({
      trueSource: 0,
      distortion: 0,
      spatial: 0,
      image: 0,
      interference: 0,
      imageAndInterference: 0,
      artifacts: 0,
    }));
    for (const carry of [...carryAll, ...carrySelf]) for (const c of carry) c.fill(0);
    for (let offset = 0; offset < span; offset += block) {
      const active = offset < to - from;
      if (active) {
        const start = from + offset;
        const end = Math.min(start + block, to);
        for (let p = 0; p < refChannels.length; p += 2) {
          fft.forwardPair(refChannels[p], refChannels[p + 1], start, start, end, inputs[p], inputs[p + 1]);
        }
      }
      for (let j = 0; j < nsrc; j++) {
        for (let c = 0; c < CHANNELS; c++) {
          if (active) {
            sumAll.re.fill(0);
            sumAll.im.fill(0);
            sumSelf.re.fill(0);
            sumSelf.im.fill(0);
            for (let p = 0; p < refChannels.length; p++) accumulateProduct(sumAll, H[j][p][c], inputs[p]);
            for (let cj = 0; cj < CHANNELS; cj++) {
              accumulateProduct(sumSelf, Hs[j][cj][c], inputs[CHANNELS * j + cj]);
            }
            fft.inversePair(sumAll, sumSelf, outAll, outSelf);
          } else {
            outAll.fill(0);
            outSelf.fill(0);
          }
          overlapAdd(outAll, carryAll[j][c], block);
          overlapAdd(outSelf, carrySelf[j][c], block);
          const count = Math.min(block, span - offset);
          accumulateEnergies(energies[j], refs[j][c], ests[j][c], from + offset, to, outAll, outSelf, count);
        }
      }
    }
    energies.forEach((e, j) => {
      result[j].push({
        time,
        duration,
        SDR: safeDb(e.trueSource, e.distortion),
        SIR: safeDb(e.image, e.interference),
        SAR: safeDb(e.imageAndInterference, e.artifacts),
        ISR: safeDb(e.trueSource, e.spatial),
      });
    });
  }
  return result;
}

function accumulateProduct(acc: Complex, h: Complex, x: Complex): void {
  const { re, im } = acc;
  for (let k = 0; k < re.length; k++) {
    re[k] += h.re[k] * x.re[k] - h.im[k] * x.im[k];
    im[k] += h.re[k] * x.im[k] + h.im[k] * x.re[k];
  }
}

/** Adds the previous block's tail to the head of `out` and keeps `out`'s tail (from `block` on) as the next one. */
function overlapAdd(out: Float64Array, carry: Float64Array, block: number): void {
  for (let i = 0; i < carry.length; i++) out[i] += carry[i];
  carry.set(out.subarray(block, block + carry.length));
}

/**
 * museval _bss_decomp_mtifilt then the sums of _bss_crit, for `count` samples of one channel starting at absolute
 * sample `start`; the reference and estimate are zero from `frameEnd` on (the frame's zero padding).
 */
function accumulateEnergies(
  e: Energies,
  reference: Float32Array,
  estimate: Float32Array,
  start: number,
  frameEnd: number,
  projectionAll: Float64Array,
  projectionSelf: Float64Array,
  count: number,
): void {
  for (let i = 0; i < count; i++) {
    const inFrame = start + i < frameEnd;
    const s = inFrame ? reference[start + i] : 0;
    const est = inFrame ? estimate[start + i] : 0;
    const spatial = projectionSelf[i] - s;
    const interference = projectionAll[i] - s - spatial;
    const artifacts = -s - spatial - interference + est;
    const distortion = spatial + interference + artifacts;
    const image = s + spatial;
    const imageAndInterference = s + spatial + interference;
    e.trueSource += s * s;
    e.distortion += distortion * distortion;
    e.spatial += spatial * spatial;
    e.image += image * image;
    e.interference += interference * interference;
    e.imageAndInterference += imageAndInterference * imageAndInterference;
    e.artifacts += artifacts * artifacts;
  }
}

/** museval _safe_db: +∞ when the denominator is exactly 0. */
function safeDb(numerator: number, denominator: number): number {
  if (denominator === 0) return Infinity;
  return 10 * Math.log10(numerator / denominator);
}

/** np.nanmedian after museval's TrackStore._q (±∞ → NaN): the median of the finite values, NaN if none. */
function finiteMedian(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------------------------
// Float64 FFT

interface Complex {
  re: Float64Array;
  im: Float64Array;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Radix-2 complex FFT in float64 (power-of-two sizes), used two real signals at a time: z = x + i·y, then
 * X[k] = (Z[k] + conj Z[n−k])/2 and Y[k] = (Z[k] − conj Z[n−k])/(2i). Half spectra hold bins 0…n/2.
 */
class Fft64 {
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly reversed: Uint32Array;

  constructor(readonly size: number) {
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.reversed = new Uint32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.reversed[i] = r;
    }
  }

  /**
   * Half spectra of x[from + t] and y[from + t], t ∈ [0, size), where from + t ∈ [lo, hi) (zero elsewhere).
   */
  forwardPair(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
    from: number,
    lo: number,
    hi: number,
    outX: Complex,
    outY: Complex,
  ): void {
    const { re, im, size } = this;
    re.fill(0);
    im.fill(0);
    const first = Math.max(lo, from);
    const last = Math.min(hi, from + size);
    for (let i = first; i < last; i++) {
      re[i - from] = x[i];
      im[i - from] = y[i];
    }
    this.transform(false);
    for (let k = 0; k <= size / 2; k++) {
      const m = (size - k) & (size - 1);
      const zr = re[k];
      const zi = im[k];
      const wr = re[m];
      const wi = im[m];
      outX.re[k] = 0.5 * (zr + wr);
      outX.im[k] = 0.5 * (zi - wi);
      outY.re[k] = 0.5 * (zi + wi);
      outY.im[k] = -0.5 * (zr - wr);
    }
  }

  /** Real signals (length size) of two Hermitian half spectra, normalised (x = IFFT(X)). */
  inversePair(X: Complex, Y: Complex, x: Float64Array, y: Float64Array): void {
    this.loadInversePair(X, Y);
    this.transform(true);
    const scale = 1 / this.size;
    for (let i = 0; i < this.size; i++) {
      x[i] = this.re[i] * scale;
      y[i] = this.im[i] * scale;
    }
  }

  /** The first `count` samples of the inverse of each half spectrum. */
  inverseFirst(spectra: readonly Complex[], count: number): Float64Array[] {
    const out: Float64Array[] = [];
    const scale = 1 / this.size;
    for (let s = 0; s < spectra.length; s += 2) {
      const second = s + 1 < spectra.length ? spectra[s + 1] : undefined;
      this.loadInversePair(spectra[s], second);
      this.transform(true);
      out.push(this.re.slice(0, count).map((v) => v * scale));
      if (second) out.push(this.im.slice(0, count).map((v) => v * scale));
    }
    return out;
  }

  /** z = x + i·y over the whole circle from the half spectra X, Y (Y = 0 when absent). */
  private loadInversePair(X: Complex, Y: Complex | undefined): void {
    const { re, im, size } = this;
    const half = size / 2;
    for (let k = 0; k <= half; k++) {
      const yr = Y ? Y.re[k] : 0;
      const yi = Y ? Y.im[k] : 0;
      re[k] = X.re[k] - yi;
      im[k] = X.im[k] + yr;
      if (k > 0 && k < half) {
        re[size - k] = X.re[k] + yi;
        im[size - k] = yr - X.im[k];
      }
    }
  }

  /**
   * In place on (re, im); the inverse is not normalised. Decimation in time after a bit-reversal permutation: the
   * first two stages fused (twiddles 1 and ∓i), then the rest two at a time (radix 2², half the passes over the
   * data), a last radix-2 stage when their count is odd. Needs size ≥ 8.
   */
  private transform(inverse: boolean): void {
    const { re, im, size, cos, sin, reversed } = this;
    for (let i = 0; i < size; i++) {
      const j = reversed[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    const sign = inverse ? 1 : -1; // the exponent's sign: w = exp(sign·2πi·k/len)
    for (let i = 0; i < size; i += 4) {
      const s0r = re[i] + re[i + 1];
      const s0i = im[i] + im[i + 1];
      const d0r = re[i] - re[i + 1];
      const d0i = im[i] - im[i + 1];
      const s1r = re[i + 2] + re[i + 3];
      const s1i = im[i + 2] + im[i + 3];
      const d1r = re[i + 2] - re[i + 3];
      const d1i = im[i + 2] - im[i + 3];
      const xr = -sign * d1i; // d1·(sign·i)
      const xi = sign * d1r;
      re[i] = s0r + s1r;
      im[i] = s0i + s1i;
      re[i + 2] = s0r - s1r;
      im[i + 2] = s0i - s1i;
      re[i + 1] = d0r + xr;
      im[i + 1] = d0i + xi;
      re[i + 3] = d0r - xr;
      im[i + 3] = d0i - xi;
    }
    let len = 8;
    // stages len and 2·len together: w_len = w_2len², and w_2len^(k + len/2) = w_2len^k·(sign·i)
    for (; len * 2 <= size; len *= 4) {
      const quarter = len / 2;
      const stepA = size / len;
      const stepB = stepA / 2;
      for (let start = 0; start < size; start += 2 * len) {
        for (let k = 0; k < quarter; k++) {
          const war = cos[k * stepA];
          const wai = sign * sin[k * stepA];
          const wbr = cos[k * stepB];
          const wbi = sign * sin[k * stepB];
          const i0 = start + k;
          const i1 = i0 + quarter;
          const i2 = i0 + len;
          const i3 = i2 + quarter;
          const t1r = re[i1] * war - im[i1] * wai;
          const t1i = re[i1] * wai + im[i1] * war;
          const t3r = re[i3] * war - im[i3] * wai;
          const t3i = re[i3] * wai + im[i3] * war;
          const b0r = re[i0] + t1r;
          const b0i = im[i0] + t1i;
          const b1r = re[i0] - t1r;
          const b1i = im[i0] - t1i;
          const b2r = re[i2] + t3r;
          const b2i = im[i2] + t3i;
          const b3r = re[i2] - t3r;
          const b3i = im[i2] - t3i;
          const u2r = b2r * wbr - b2i * wbi;
          const u2i = b2r * wbi + b2i * wbr;
          const v3r = b3r * wbr - b3i * wbi;
          const v3i = b3r * wbi + b3i * wbr;
          const u3r = -sign * v3i;
          const u3i = sign * v3r;
          re[i0] = b0r + u2r;
          im[i0] = b0i + u2i;
          re[i2] = b0r - u2r;
          im[i2] = b0i - u2i;
          re[i1] = b1r + u3r;
          im[i1] = b1i + u3i;
          re[i3] = b1r - u3r;
          im[i3] = b1i - u3i;
        }
      }
    }
    for (; len <= size; len *= 2) {
      const half = len / 2;
      const step = size / len;
      for (let start = 0; start < size; start += len) {
        for (let k = 0; k < half; k++) {
          const wr = cos[k * step];
          const wi = sign * sin[k * step];
          const i = start + k;
          const j = i + half;
          const xr = re[j] * wr - im[j] * wi;
          const xi = re[j] * wi + im[j] * wr;
          re[j] = re[i] - xr;
          im[j] = im[i] - xi;
          re[i] += xr;
          im[i] += xi;
        }
      }
    }
  }
}
