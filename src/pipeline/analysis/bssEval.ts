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
import { channels, fitLength, SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import { type Complex, Fft64, nextPowerOfTwo } from '../dsp/fft64.js';
import { solveSymmetric } from '../dsp/linearSolve.js';
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
  const refs = references.map(channels);
  const ests = estimates.map((a) => channels(fitLength(a, length)));
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
  const solution = solveSymmetric(
    gram,
    n,
    rhs,
    columns,
    'the references are linearly dependent: G is singular',
  );
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
export function finiteMedian(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}
