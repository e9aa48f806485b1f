/**
 * Validates the MDX-Net reference implementation (tests/reference/mdxReference.ts) against analytic truths, so
 * that it can in turn be trusted as the oracle for the fast implementation (spec §B, §D.3).
 * Geometries are small (hop 1024, n_fft 1280..2560) because the reference uses a naive DFT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  besselI0,
  effectiveShiftCount,
  referenceExtract,
  referenceExtractFloat64,
  referenceIstft,
  referenceResamplePoly,
  referenceStft,
  resamplePolyFilter,
  segmentSizes,
  type ExtractOptions,
  type Geometry,
  type ModelFn,
  type ModelFn64,
  type TensorDims,
} from '../reference/mdxReference.js';

const SR = 44100;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** assert.ok with a message (without one, node:assert re-parses the source to build it, which is very slow). */
function assertBelow(value: number, limit: number, what: string): void {
  assert.ok(value < limit, `${what}: ${value} is not < ${limit}`);
}

function assertAbove(value: number, limit: number, what: string): void {
  assert.ok(value > limit, `${what}: ${value} is not > ${limit}`);
}

/** Deterministic uniform noise in [−amp, amp) (mulberry32). */
function noise(n: number, seed: number, amp = 0.5): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    out[i] = (((r ^ (r >>> 14)) >>> 0) / 4294967296) * 2 * amp - amp;
  }
  return out;
}

function sine(n: number, freqHz: number, amp: number, phase = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freqHz * i) / SR + phase);
  return out;
}

/** A sinusoid exactly on DFT bin k of n_fft: x[i] = amp·cos(2π·k·i/n_fft + phase). */
function binCosine(n: number, k: number, nFft: number, amp: number, phase = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.cos((2 * Math.PI * k * i) / nFft + phase);
  return out;
}

function maxAbsDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  from = 0,
  to = Math.min(a.length, b.length),
): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |out − expected| over both channels. */
function stereoDiff(
  out: { left: Float64Array; right: Float64Array },
  left: ArrayLike<number>,
  right: ArrayLike<number>,
  from?: number,
  to?: number,
): number {
  return Math.max(maxAbsDiff(out.left, left, from, to), maxAbsDiff(out.right, right, from, to));
}

function roll(x: Float64Array, shift: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[(((i + shift) % n) + n) % n] = x[i];
  return out;
}

const identity64: ModelFn64 = async (input) => Float64Array.from(input);
const identity32: ModelFn = async (input) => Float32Array.from(input);

/** Multiplies the L planes by gainL[f] and the R planes by gainR[f]; reads the layout ((k·4 + c)·F + f)·T + t. */
function gainModel(gainL: (f: number) => number, gainR: (f: number) => number): ModelFn64 {
  return async (input, [K, C, F, T]) => {
    const out = new Float64Array(input.length);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < C; c++) {
        for (let f = 0; f < F; f++) {
          const g = c < 2 ? gainL(f) : gainR(f);
          for (let t = 0; t < T; t++) {
            const idx = ((k * C + c) * F + f) * T + t;
            out[idx] = input[idx] * g;
          }
        }
      }
    }
    return out;
  };
}

/**
 * A model whose output depends on where a value sits: on the segment index k inside the chunk and on the frame
 * t, with some L/R mixing. Anything that moves audio to another segment, chunk or shift changes its output.
 */
const positionModel: ModelFn64 = async (input, [K, C, F, T]) => {
  const out = new Float64Array(input.length);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      for (let f = 0; f < F; f++) {
        for (let t = 0; t < T; t++) {
          const idx = ((k * C + c) * F + f) * T + t;
          const other = ((k * C + (c ^ 2)) * F + f) * T + t;
          out[idx] = input[idx] * (1 + 0.3 * k + 0.02 * t) + 0.1 * input[other];
        }
      }
    }
  }
  return out;
};

interface Call {
  dims: TensorDims;
  input: Float64Array;
}

/** Wraps a float64 model and records the dims and a copy of the input of every call. */
function record64(model: ModelFn64): { model: ModelFn64; calls: Call[] } {
  const calls: Call[] = [];
  const wrapped: ModelFn64 = async (input, dims) => {
    calls.push({ dims: [...dims], input: Float64Array.from(input) });
    return model(input, dims);
  };
  return { model: wrapped, calls };
}

/** Same for the float32 ModelFn. */
function record32(model: ModelFn): { model: ModelFn; calls: Call[] } {
  const calls: Call[] = [];
  const wrapped: ModelFn = async (input, dims) => {
    calls.push({ dims: [...dims], input: Float64Array.from(input) });
    return model(input, dims);
  };
  return { model: wrapped, calls };
}

function opts(partial: Partial<ExtractOptions> = {}): ExtractOptions {
  return { shifts: 1, denoise: false, srs: false, chunkSize: 500000, compensate: 1, ...partial };
}

// n_fft 2048: n_fft/2 = hop, so the reflect-padded frames never reach the kept part [trim, L_seg − trim).
const G_FULL: Geometry = { nFft: 2048, dimF: 1025, dimT: 8 }; // all bins incl. Nyquist: STFT→iSTFT is exact
const G_NO_NYQ: Geometry = { nFft: 2048, dimF: 1024, dimT: 8 }; // all but Nyquist
const G_SMALL: Geometry = { nFft: 2048, dimF: 24, dimT: 8 }; // cheap, for structural tests
// n_fft 2560 = 2.5 hops (like 5120 and 7680): reflect-padded frames do reach the kept part.
const G_ODD_FULL: Geometry = { nFft: 2560, dimF: 1281, dimT: 8 };
// n_fft 1280 (1.25 hops, still NOLA): a cheaper all-bins geometry for the longest identity test.
const G_LOW_FULL: Geometry = { nFft: 1280, dimF: 641, dimT: 16 };

// ---------------------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------------------

describe('mdxReference building blocks', () => {
  it('segment sizes follow §B.3', () => {
    const sizes = (nFft: number) => segmentSizes({ nFft, dimF: 2048, dimT: 256 });
    assert.deepEqual(sizes(7680), { lSeg: 261120, trim: 3840, gen: 253440 });
    assert.deepEqual(sizes(6144), { lSeg: 261120, trim: 3072, gen: 254976 });
    assert.deepEqual(sizes(5120), { lSeg: 261120, trim: 2560, gen: 256000 });
  });

  it('besselI0 matches known values, and the resample_poly filter is the §D.3 firwin', () => {
    assertBelow(Math.abs(besselI0(0) - 1), 1e-15, 'I0(0)');
    assertBelow(Math.abs(besselI0(1) - 1.2660658777520082), 1e-15, 'I0(1)');
    assertBelow(Math.abs(besselI0(5) / 27.239871823604442 - 1), 1e-15, 'I0(5)');
    assertBelow(Math.abs(besselI0(10) / 2815.716628466254 - 1), 1e-14, 'I0(10)');
    for (const [up, down] of [
      [5, 4],
      [4, 5],
    ]) {
      const h = resamplePolyFilter(up, down);
      assert.equal(h.length, 101);
      assertBelow(Math.abs(h.reduce((s, v) => s + v, 0) - up), 1e-13, 'Σh − up');
      for (let j = 0; j < 101; j++) assertBelow(Math.abs(h[j] - h[100 - j]), 1e-15, `symmetry at ${j}`);
      // sinc((j − 50)/5) vanishes at every 5th tap but the centre.
      assertBelow(Math.abs(h[45]) + Math.abs(h[55]) + Math.abs(h[0]), 1e-15, 'zeros of the sinc');
    }
    // Golden values of scipy 1.17 `firwin(101, 1/5, window=('kaiser', 5.0))·5`.
    const h = resamplePolyFilter(5, 4);
    assertBelow(Math.abs(h[50] - 1.0006505165814363), 1e-15, 'h[50]');
    assertBelow(Math.abs(h[49] - 0.9352618417899654), 1e-15, 'h[49]');
    assertBelow(Math.abs(h[1] - -0.0008859446330777405), 1e-17, 'h[1]');
  });

  it('resample_poly: output length ceil(n·up/down), unit DC gain, and a sine maps to the same sine', () => {
    for (const n of [1000, 1001, 1003]) {
      assert.equal(referenceResamplePoly(new Float64Array(n), 5, 4).length, Math.ceil((n * 5) / 4));
      assert.equal(referenceResamplePoly(new Float64Array(n), 4, 5).length, Math.ceil((n * 4) / 5));
    }
    const n = 8000;
    const dc = referenceResamplePoly(new Float64Array(n).fill(1), 5, 4);
    assertBelow(maxAbsDiff(dc, new Float64Array(dc.length).fill(1), 100, dc.length - 100), 1e-3, 'DC gain');
    // U(sin(2πf·i/44100)) at 5/4 the rate is sin(2πf·(4/5)·q/44100), up to the filter's passband ripple.
    const x = sine(n, 440, 0.8);
    const u = referenceResamplePoly(x, 5, 4);
    const expected = new Float64Array(u.length).map(
      (_, q) => 0.8 * Math.sin((2 * Math.PI * 440 * 0.8 * q) / SR),
    );
    assertBelow(maxAbsDiff(u, expected, 200, u.length - 200), 1.5e-3, 'U(sine)');
    const back = referenceResamplePoly(u, 4, 5);
    assertBelow(maxAbsDiff(back, x, 200, n - 200), 2e-3, 'D(U(sine))');
  });

  it('STFT of a cosine on bin k0 is (n_fft/4)·e^{iθ_t} at k0 and −(n_fft/8)·e^{iθ_t} at k0 ± 1 (§B.2)', () => {
    const geometry: Geometry = { nFft: 2048, dimF: 64, dimT: 8 };
    const { lSeg } = segmentSizes(geometry);
    const [k0, phase, nFft, dimT] = [20, 0.7, geometry.nFft, geometry.dimT];
    const spec = referenceStft(binCosine(lSeg, k0, nFft, 1, phase), geometry);
    // Frame t covers segment samples [t·hop − n_fft/2, t·hop + n_fft/2) (centre padding), so its phase is
    // θ_t = 2π·k0·(t·hop − n_fft/2)/n_fft + phase. Frames 1..dim_t−2 never touch the reflect padding.
    let err = 0;
    for (let t = 1; t < dimT - 1; t++) {
      const theta = (2 * Math.PI * k0 * (t * 1024 - nFft / 2)) / nFft + phase;
      for (let f = 0; f < geometry.dimF; f++) {
        const a = f === k0 ? nFft / 4 : Math.abs(f - k0) === 1 ? -nFft / 8 : 0;
        err = Math.max(err, Math.abs(spec.re[f * dimT + t] - a * Math.cos(theta)));
        err = Math.max(err, Math.abs(spec.im[f * dimT + t] - a * Math.sin(theta)));
      }
    }
    assertBelow(err, 1e-9, 'STFT vs analytic');
  });

  it('STFT reflect padding mirrors without repeating the edge sample (§B.2, §F.3)', () => {
    // A cosine that is even around the first sample (left) or around the last sample (right) is continued
    // exactly by torch's reflect padding, so the edge frames obey the same analytic formula as the others.
    const geometry: Geometry = { nFft: 2048, dimF: 64, dimT: 8 };
    const { lSeg } = segmentSizes(geometry);
    const [k0, nFft, dimT] = [13, geometry.nFft, geometry.dimT];
    for (const centre of [0, lSeg - 1]) {
      const x = new Float64Array(lSeg).map((_, m) => Math.cos((2 * Math.PI * k0 * (m - centre)) / nFft));
      const spec = referenceStft(x, geometry);
      // Frame 0 reaches into the left padding, frame dim_t − 1 into the right one; skip the other edge.
      const [tFirst, tLast] = centre === 0 ? [0, dimT - 2] : [1, dimT - 1];
      let err = 0;
      for (let t = tFirst; t <= tLast; t++) {
        const theta = (2 * Math.PI * k0 * (t * 1024 - nFft / 2 - centre)) / nFft;
        for (let f = k0 - 1; f <= k0 + 1; f++) {
          const a = f === k0 ? nFft / 4 : -nFft / 8;
          err = Math.max(err, Math.abs(spec.re[f * dimT + t] - a * Math.cos(theta)));
          err = Math.max(err, Math.abs(spec.im[f * dimT + t] - a * Math.sin(theta)));
        }
      }
      assertBelow(err, 1e-9, `reflect padding, cosine even around ${centre}`);
    }
  });

  it('iSTFT(STFT(x)) = x with all bins, for n_fft 2048 and 2560; imag(DC) and imag(Nyquist) are ignored', () => {
    for (const geometry of [G_FULL, G_ODD_FULL]) {
      const { lSeg } = segmentSizes(geometry);
      const x = noise(lSeg, 7);
      const spec = referenceStft(x, geometry);
      assertBelow(maxAbsDiff(referenceIstft(spec, geometry), x), 1e-12, `round trip n_fft ${geometry.nFft}`);
      const { dimT, nFft } = geometry;
      for (let t = 0; t < dimT; t++) {
        spec.im[0 * dimT + t] += 5;
        spec.im[(nFft / 2) * dimT + t] -= 3;
      }
      assertBelow(maxAbsDiff(referenceIstft(spec, geometry), x), 1e-12, `imag(DC/Nyquist) n_fft ${nFft}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Extract: identity, gains, phase, linearity
// ---------------------------------------------------------------------------------------------------------------

describe('referenceExtract with analytic models', () => {
  it('identity model, all bins: Extract = input exactly, through segments, dummy segment, chunks, overlap', async () => {
    const { gen } = segmentSizes(G_FULL); // 5120
    const cases: { n: number; chunkSize: number; overlap?: number }[] = [
      { n: 3000, chunkSize: 500000 }, // shorter than one segment
      { n: 2 * gen, chunkSize: 500000 }, // exact multiple of gen: a dummy segment
      { n: 9000, chunkSize: 6000, overlap: 0.5 }, // chunks [0, 6000), [3000, 9000), [6000, 9000), averaged
    ];
    for (const { n, chunkSize, overlap } of cases) {
      const left = noise(n, n);
      const right = noise(n, n + 1);
      const out = await referenceExtractFloat64(
        left,
        right,
        identity64,
        G_FULL,
        opts({ chunkSize, overlap }),
      );
      assert.equal(out.left.length, n);
      assertBelow(stereoDiff(out, left, right), 1e-12, `identity n=${n}`);
    }
    // n_fft 2560: reflect-padded frames reach the kept region; still exact.
    const n = 6000; // gen = 4608: two segments
    const left = noise(n, 3);
    const right = noise(n, 4);
    const out = await referenceExtractFloat64(left, right, identity64, G_ODD_FULL, opts());
    assertBelow(stereoDiff(out, left, right), 1e-12, 'identity n_fft 2560');
  });

  it('identity model, dim_f = n_fft/2 (Nyquist dropped): a band-limited signal comes back to < 1e-9', async () => {
    const n = 12000;
    // Sum of sines well below Nyquist, faded in and out (raised cosine) so that the zero padding at the chunk
    // edges adds no broadband step.
    const fade = 3072;
    const left = new Float64Array(n);
    const right = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const edge = Math.min(i, n - 1 - i);
      const env = edge < fade ? 0.5 - 0.5 * Math.cos((Math.PI * edge) / fade) : 1;
      const s = (2 * Math.PI * i) / SR;
      left[i] = env * (0.4 * Math.sin(220 * s) + 0.3 * Math.sin(1250 * s + 1) + 0.1 * Math.sin(3100 * s + 2));
      right[i] = env * (0.5 * Math.sin(330 * s + 0.5) + 0.2 * Math.sin(2000 * s));
    }
    const out = await referenceExtractFloat64(left, right, identity64, G_NO_NYQ, opts());
    assertBelow(stereoDiff(out, left, right), 1e-9, 'identity without Nyquist');
  });

  it('identity model through the float32 boundary: Extract ≈ input to float32 precision', async () => {
    const n = 5000;
    const left = Float32Array.from(noise(n, 11));
    const right = Float32Array.from(noise(n, 12));
    const out = await referenceExtract(left, right, identity32, G_FULL, opts());
    assertBelow(stereoDiff(out, left, right), 2e-6, 'identity float32');
  });

  it('per-bin gain model: a cosine on bin k comes out × gain[k] (per channel) in the interior', async () => {
    const geometry: Geometry = { nFft: 2048, dimF: 96, dimT: 8 };
    const n = 30000; // 6 segments
    const [kL, kR] = [20, 45];
    // Block-constant gains (blocks of 8 bins), so that k and its Hann neighbours k ± 1 share a gain.
    const gainL = (f: number): number => 0.25 + 0.5 * Math.floor(f / 8);
    const gainR = (f: number): number => 3 - 0.2 * Math.floor(f / 8);
    const left = binCosine(n, kL, geometry.nFft, 0.7, 0.3);
    const right = binCosine(n, kR, geometry.nFft, 0.5, 1.1);
    const out = await referenceExtractFloat64(left, right, gainModel(gainL, gainR), geometry, opts());
    const [from, to] = [geometry.nFft, n - geometry.nFft]; // away from the zero padding at the chunk edges
    const expectL = left.map((v) => v * gainL(kL));
    const expectR = right.map((v) => v * gainR(kR));
    assertBelow(stereoDiff(out, expectL, expectR, from, to), 1e-9, 'gain × cosine');
    // Near the edges the zero padding makes it differ (real behaviour, and proof the check is not vacuous).
    assertAbove(maxAbsDiff(out.left, expectL, 0, from), 1e-6, 'edge effect');
  });

  it('phase model (× i on every bin): cos comes out as −sin, so re/im order and DFT sign are right', async () => {
    const geometry: Geometry = { nFft: 2048, dimF: 64, dimT: 8 };
    const rotate: ModelFn64 = async (input, [K, C, F, T]) => {
      const out = new Float64Array(input.length);
      const plane = F * T;
      for (let k = 0; k < K; k++) {
        for (let c = 0; c < C; c += 2) {
          for (let j = 0; j < plane; j++) {
            const re = input[(k * C + c) * plane + j];
            const im = input[(k * C + c + 1) * plane + j];
            out[(k * C + c) * plane + j] = -im; // i·(re + i·im) = −im + i·re
            out[(k * C + c + 1) * plane + j] = re;
          }
        }
      }
      return out;
    };
    const n = 12000;
    const k0 = 30;
    const x = binCosine(n, k0, geometry.nFft, 0.6);
    const out = await referenceExtractFloat64(x, x, rotate, geometry, opts());
    const expected = new Float64Array(n).map(
      (_, i) => -0.6 * Math.sin((2 * Math.PI * k0 * i) / geometry.nFft),
    );
    assertBelow(stereoDiff(out, expected, expected, 2048, n - 2048), 1e-9, 'cos → −sin');
  });

  it('linearity: a model returning 2·input gives exactly 2× the identity result; compensate scales', async () => {
    const n = 9000;
    const left = Float32Array.from(noise(n, 21));
    const right = Float32Array.from(noise(n, 22));
    const twice: ModelFn = async (input) => input.map((v) => 2 * v);
    const base = await referenceExtract(left, right, identity32, G_SMALL, opts());
    const doubled = await referenceExtract(left, right, twice, G_SMALL, opts());
    assert.equal(
      stereoDiff(
        doubled,
        base.left.map((v) => 2 * v),
        base.right.map((v) => 2 * v),
      ),
      0,
    );
    const compensated = await referenceExtract(
      left,
      right,
      identity32,
      G_SMALL,
      opts({ compensate: 1.0085 }),
    );
    const expectL = base.left.map((v) => v * 1.0085);
    const expectR = base.right.map((v) => v * 1.0085);
    assertBelow(stereoDiff(compensated, expectL, expectR), 1e-15, 'compensate');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Extract: denoise, shifts, chunks, segments, SRS
// ---------------------------------------------------------------------------------------------------------------

describe('referenceExtract structure (§B.3, §B.4, §B.6)', () => {
  it('denoise: pass 1 is on the negated input; an odd model is unchanged; the even part cancels', async () => {
    const n = 9000;
    const left = noise(n, 31);
    const right = noise(n, 32);
    const rec = record64(identity64);
    const denoised = await referenceExtractFloat64(left, right, rec.model, G_SMALL, opts({ denoise: true }));
    const plainRec = record64(identity64);
    const plain = await referenceExtractFloat64(left, right, plainRec.model, G_SMALL, opts());
    assert.equal(rec.calls.length, 2);
    const [first, second] = rec.calls;
    // Pass 2 sees the spectrum of +a (the same tensor as a plain pass), pass 1 that of −a.
    assert.deepEqual(second.input, plainRec.calls[0].input);
    assert.equal(
      maxAbsDiff(
        first.input,
        second.input.map((v) => -v),
      ),
      0,
    );
    // The identity is odd: 0.5·(−F(−a)) + 0.5·F(a) = F(a), bit for bit.
    assert.equal(stereoDiff(denoised, plain.left, plain.right), 0);

    // f(x) = x + 0.01·x² elementwise: 0.5·(−f(−x)) + 0.5·f(x) = x, so denoise recovers the identity result.
    const withEvenPart: ModelFn64 = async (input) => input.map((v) => v + 0.01 * v * v);
    const cancelled = await referenceExtractFloat64(
      left,
      right,
      withEvenPart,
      G_SMALL,
      opts({ denoise: true }),
    );
    assertBelow(stereoDiff(cancelled, plain.left, plain.right), 1e-9, 'even part cancelled');
    const raw = await referenceExtractFloat64(left, right, withEvenPart, G_SMALL, opts());
    assertAbove(stereoDiff(raw, plain.left, plain.right), 1e-3, 'even part visible without denoise');
  });

  it('shifts: identity gives the input for any shift count; S = 3 is the mean of rolled single passes', async () => {
    // Identity with all bins on 2 s of audio with S = 2 (two rolls, wrap-around at 1 s, chunk seams moved).
    const n2 = 2 * SR;
    const l2 = noise(n2, 41);
    const r2 = noise(n2, 42);
    const rec = record64(identity64);
    const out2 = await referenceExtractFloat64(
      l2,
      r2,
      rec.model,
      G_LOW_FULL,
      opts({ shifts: 2, chunkSize: 50000 }),
    );
    assert.equal(rec.calls.length, 2 * 2); // 2 shifts × 2 chunks
    assertBelow(stereoDiff(out2, l2, r2), 1e-12, 'identity with shifts');

    // Position-dependent model, exactly 3 s, S = 3: mean over s of roll(E1(roll(a, +s·44100)), −s·44100),
    // where roll(x, +s) moves the last s samples to the front (numpy roll, §B.4 step 2).
    const n = 3 * SR;
    const left = noise(n, 43);
    const right = noise(n, 44);
    const chunkSize = 60000;
    const out = await referenceExtractFloat64(
      left,
      right,
      positionModel,
      G_SMALL,
      opts({ shifts: 3, chunkSize }),
    );
    const expectL = new Float64Array(n);
    const expectR = new Float64Array(n);
    for (let s = 0; s < 3; s++) {
      const [shiftedL, shiftedR] = [roll(left, s * SR), roll(right, s * SR)];
      const e1 = await referenceExtractFloat64(
        shiftedL,
        shiftedR,
        positionModel,
        G_SMALL,
        opts({ chunkSize }),
      );
      const backL = roll(e1.left, -s * SR);
      const backR = roll(e1.right, -s * SR);
      for (let i = 0; i < n; i++) {
        expectL[i] += backL[i] / 3;
        expectR[i] += backR[i] / 3;
      }
    }
    assertBelow(stereoDiff(out, expectL, expectR), 1e-12, 'S = 3 vs manual mean');
    // The shifts matter for this model (otherwise the check above would be vacuous).
    const single = await referenceExtractFloat64(left, right, positionModel, G_SMALL, opts({ chunkSize }));
    assertAbove(stereoDiff(single, out.left, out.right), 1e-3, 'S = 1 differs from S = 3');
  });

  it('shift clamp (§B.4 step 1): S > floor(n/44100) → floor(n/44100 − 1), guarded to >= 1', async () => {
    assert.equal(effectiveShiftCount(12, 10 * SR), 9);
    assert.equal(effectiveShiftCount(3, 3 * SR), 3);
    assert.equal(effectiveShiftCount(3, 2.5 * SR), 1);
    assert.equal(effectiveShiftCount(0, 10 * SR), 1);
    assert.equal(effectiveShiftCount(3, 1.5 * SR), 1); // Python: 0 shifts, NaN output
    assert.equal(effectiveShiftCount(3, 1000), 1); // Python: int(−0.98) = 0
    // 2.5 s with S = 3 behaves exactly like S = 1.
    const n = Math.round(2.5 * SR);
    const left = noise(n, 51);
    const right = noise(n, 52);
    const a = await referenceExtractFloat64(left, right, positionModel, G_SMALL, opts({ shifts: 3 }));
    const b = await referenceExtractFloat64(left, right, positionModel, G_SMALL, opts({ shifts: 1 }));
    assert.equal(stereoDiff(a, b.left, b.right), 0);
  });

  it('short audio (< 2 s) with shifts = 3 and denoise does not crash and keeps the input length', async () => {
    for (const n of [1, 500, Math.round(1.5 * SR)]) {
      const left = Float32Array.from(noise(n, n));
      const right = Float32Array.from(noise(n, n + 7));
      const rec = record32(identity32);
      const out = await referenceExtract(left, right, rec.model, G_SMALL, opts({ shifts: 3, denoise: true }));
      assert.equal(out.left.length, n);
      assert.equal(out.right.length, n);
      assert.equal(out.left.every(Number.isFinite) && out.right.every(Number.isFinite), true);
      assert.equal(rec.calls.length, 2); // one shift, two denoise passes, one chunk
    }
  });

  it('segments per chunk: K = ceil(N/gen), plus the dummy segment when N mod gen = 0 (§B.3, §F.5)', async () => {
    const { gen } = segmentSizes(G_SMALL); // 5120
    const expectedK: [number, number][] = [
      [100, 1],
      [gen - 1, 1],
      [gen, 2], // dummy segment
      [gen + 1, 2],
      [2 * gen - 1, 2],
      [2 * gen, 3], // dummy segment
      [2 * gen + 1, 3],
    ];
    for (const [n, K] of expectedK) {
      const rec = record64(identity64);
      const out = await referenceExtractFloat64(noise(n, 61), noise(n, 62), rec.model, G_SMALL, opts());
      assert.equal(rec.calls.length, 1, 'one model call per chunk');
      assert.deepEqual(rec.calls[0].dims, [K, 4, G_SMALL.dimF, G_SMALL.dimT], `n=${n}`);
      assert.equal(out.left.length, n);
    }
  });

  it('chunks are separated independently (zero context at their edges) and averaged where they overlap', async () => {
    const n = 15000;
    const left = noise(n, 71);
    const right = noise(n, 72);
    const chunkSize = 6000; // chunks of 6000, 6000, 3000 samples → K = 2, 2, 1
    const extractAlone = (start: number, end: number) =>
      referenceExtractFloat64(
        left.slice(start, end),
        right.slice(start, end),
        positionModel,
        G_SMALL,
        opts(),
      );

    const rec = record64(positionModel);
    const out = await referenceExtractFloat64(left, right, rec.model, G_SMALL, opts({ chunkSize }));
    assert.deepEqual(
      rec.calls.map((c) => c.dims[0]),
      [2, 2, 1],
    );
    for (let start = 0; start < n; start += chunkSize) {
      const end = Math.min(start + chunkSize, n);
      const part = await extractAlone(start, end);
      assert.equal(
        stereoDiff(
          { left: out.left.slice(start, end), right: out.right.slice(start, end) },
          part.left,
          part.right,
        ),
        0,
      );
    }

    // overlap 0.5: step = 3000, chunks at 0, 3000, …, 12000; each sample is the mean of the chunks covering it.
    const overlapped = await referenceExtractFloat64(
      left,
      right,
      positionModel,
      G_SMALL,
      opts({ chunkSize, overlap: 0.5 }),
    );
    const acc = new Float64Array(n);
    const cnt = new Float64Array(n);
    for (let start = 0; start < n; start += 3000) {
      const end = Math.min(start + chunkSize, n);
      const part = await extractAlone(start, end);
      for (let j = start; j < end; j++) {
        acc[j] += part.left[j - start];
        cnt[j] += 1;
      }
    }
    const expected = acc.map((v, j) => v / cnt[j]);
    assertBelow(maxAbsDiff(overlapped.left, expected), 1e-15, 'overlap averaging');
  });

  it('SRS with the identity model reproduces a low-frequency sine within the resampler passband accuracy', async () => {
    const geometry: Geometry = { nFft: 2048, dimF: 256, dimT: 8 }; // band edge 5.5 kHz (4.4 kHz after SRS)
    const n = 20000;
    const left = Float32Array.from(sine(n, 440, 0.8));
    const right = Float32Array.from(sine(n, 300, 0.5, 1));
    const rec = record32(identity32);
    const srsOpts = opts({ srs: true, denoise: true, compensate: 1.5 });
    const out = await referenceExtract(left, right, rec.model, geometry, srsOpts);
    assert.equal(out.left.length, n);
    assert.equal(rec.calls.length, 2);
    // U(a) has ceil(5n/4) = 25000 samples: K = ceil(25000/gen) = 5 segments.
    assert.deepEqual(rec.calls[0].dims, [5, 4, 256, 8]);
    const expectL = left.map((v) => v * 1.5);
    const expectR = right.map((v) => v * 1.5);
    assertBelow(maxAbsDiff(out.left, expectL, 3000, n - 3000), 1.5 * 0.8 * 3e-3, 'SRS left');
    assertBelow(maxAbsDiff(out.right, expectR, 3000, n - 3000), 1.5 * 0.5 * 3e-3, 'SRS right');
  });

  it('SRS counts shift seconds on the 1.25× longer signal (§F.9)', async () => {
    const n = Math.round(1.7 * SR); // 1.7 s → S clamps to 1; 2.125 s after U → S = 2 stays
    const left = noise(n, 81);
    const right = noise(n, 82);
    const plain = record64(identity64);
    await referenceExtractFloat64(left, right, plain.model, G_SMALL, opts({ shifts: 2 }));
    const srs = record64(identity64);
    const out = await referenceExtractFloat64(
      left,
      right,
      srs.model,
      G_SMALL,
      opts({ shifts: 2, srs: true }),
    );
    assert.equal(plain.calls.length, 1);
    assert.equal(srs.calls.length, 2);
    assert.equal(out.left.length, n);
  });
});
