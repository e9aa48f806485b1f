/**
 * BSS Eval v4 (museval.evaluate, mode 'v4', 1 s frames) against independent truths: the numpy/scipy restatement of
 * museval's algorithm (tests/fixtures/golden/bssEval.json, made by tests/reference/bss_eval_reference.py) and the
 * analytic values of constructed estimates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { bssEvalV4, evaluateTargets, type TargetScores } from '../../src/pipeline/analysis/bssEval.js';
import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { noise } from '../support/dspGolden.js';

// ---------------------------------------------------------------------------------------------------------------
// Golden file and its inputs

interface GoldenCase {
  length: number;
  estimateLength: number;
  silentFrom: number;
  silentTo: number;
  seeds: { ref0: number[]; ref1: number[]; noise0: number[]; noise1: number[] };
  ref0: { pole: number; envelope: [number, number][] };
  ref1: { taps: number[]; envelope: [number, number][] };
  est0: { self: number[]; leak: number[]; noise: number };
  est1: { self: number[]; leak: number[]; noise: number };
}

type Metric = 'SDR' | 'SIR' | 'SAR' | 'ISR';
const METRICS: readonly Metric[] = ['SDR', 'SIR', 'SAR', 'ISR'];

interface Golden {
  windowSamples: number;
  hopSamples: number;
  filterLength: number;
  case: GoldenCase;
  targets: {
    frames: Record<Metric, (number | null)[]>;
    median: Record<Metric, number | null>;
    globalSDR: number;
  }[];
}

const golden = JSON.parse(
  readFileSync(new URL('../fixtures/golden/bssEval.json', import.meta.url), 'utf8'),
) as Golden;

// The shaping of bss_eval_reference.py, with the same float64 operations in the same order (bit-identical inputs).
function onePole(x: Float32Array, a: number): Float64Array {
  const y = new Float64Array(x.length);
  const b = 1 - a;
  let prev = 0;
  for (let i = 0; i < x.length; i++) {
    prev = a * prev + b * x[i];
    y[i] = prev;
  }
  return y;
}

function fir(x: ArrayLike<number>, taps: readonly number[]): Float64Array {
  const y = new Float64Array(x.length);
  taps.forEach((h, k) => {
    for (let n = k; n < x.length; n++) y[n] = y[n] + h * x[n - k];
  });
  return y;
}

function envelope(n: number, points: readonly [number, number][]): Float64Array {
  const g = new Float64Array(n);
  const last = points[points.length - 1];
  for (let i = 0; i < n; i++) {
    if (i <= points[0][0]) g[i] = points[0][1];
    else if (i >= last[0]) g[i] = last[1];
    else {
      let k = 0;
      while (points[k + 1][0] < i) k++;
      const [i0, g0] = points[k];
      const [i1, g1] = points[k + 1];
      g[i] = g0 + ((g1 - g0) * (i - i0)) / (i1 - i0);
    }
  }
  return g;
}

function goldenSignals(c: GoldenCase): { references: Stereo[]; estimates: Stereo[] } {
  const n = c.length;
  const m = c.estimateLength;
  const ref0: Float32Array[] = [];
  const ref1: Float32Array[] = [];
  for (let ch = 0; ch < 2; ch++) {
    const g0 = envelope(n, c.ref0.envelope);
    const r0 = onePole(noise(c.seeds.ref0[ch], n), c.ref0.pole);
    for (let i = 0; i < n; i++) r0[i] *= g0[i];
    r0.fill(0, c.silentFrom, c.silentTo);
    ref0.push(Float32Array.from(r0));
    const g1 = envelope(n, c.ref1.envelope);
    const r1 = fir(noise(c.seeds.ref1[ch], n), c.ref1.taps);
    for (let i = 0; i < n; i++) r1[i] *= g1[i];
    ref1.push(Float32Array.from(r1));
  }
  const estimate = (
    own: Float32Array,
    other: Float32Array,
    e: GoldenCase['est0'],
    seed: number,
  ): Float32Array => {
    const a = fir(own.subarray(0, m), e.self);
    const b = fir(other.subarray(0, m), e.leak);
    const w = noise(seed, m);
    const out = new Float32Array(m);
    for (let i = 0; i < m; i++) out[i] = a[i] + b[i] + e.noise * w[i];
    return out;
  };
  const est0 = [0, 1].map((ch) => estimate(ref0[ch], ref1[ch], c.est0, c.seeds.noise0[ch]));
  const est1 = [0, 1].map((ch) => estimate(ref1[ch], ref0[ch], c.est1, c.seeds.noise1[ch]));
  const stereo = ([left, right]: Float32Array[]): Stereo => ({ left, right });
  return { references: [stereo(ref0), stereo(ref1)], estimates: [stereo(est0), stereo(est1)] };
}

// ---------------------------------------------------------------------------------------------------------------
// Constructed signals

const SR = 44100;

function whiteNoise(seed: number, n: number, gain = 1): Stereo {
  const left = noise(seed, n);
  const right = noise(seed + 1000, n);
  for (let i = 0; i < n; i++) {
    left[i] *= gain;
    right[i] *= gain;
  }
  return { left, right };
}

/** a·x + b·y, sample by sample (rounded to float32 once). */
function mix(x: Stereo, a: number, y?: Stereo, b = 0): Stereo {
  const one = (u: Float32Array, v: Float32Array | undefined): Float32Array =>
    u.map((s, i) => a * s + (v ? b * v[i] : 0));
  return { left: one(x.left, y?.left), right: one(x.right, y?.right) };
}

/** 10·log10(Σ ref² / Σ (est − ref)²) over [from, to), both channels: the frame SNR. */
function snrDb(reference: Stereo, estimate: Stereo, from: number, to: number): number {
  let signal = 0;
  let error = 0;
  for (const c of ['left', 'right'] as const) {
    for (let i = from; i < to; i++) {
      signal += reference[c][i] ** 2;
      error += (estimate[c][i] - reference[c][i]) ** 2;
    }
  }
  return 10 * Math.log10(signal / error);
}

/** 10·log10(Σ x² / Σ y²) over [from, to), both channels. */
function energyRatioDb(x: Stereo, y: Stereo, from: number, to: number): number {
  let ex = 0;
  let ey = 0;
  for (const c of ['left', 'right'] as const) {
    for (let i = from; i < to; i++) {
      ex += x[c][i] ** 2;
      ey += y[c][i] ** 2;
    }
  }
  return 10 * Math.log10(ex / ey);
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------------------------------------------------------

describe('bssEvalV4 against the museval restatement (golden)', () => {
  it('gives museval’s per-frame and median SDR/SIR/SAR/ISR within 0.01 dB (NaN on the silent second)', async () => {
    const { references, estimates } = goldenSignals(golden.case);
    const scores = await bssEvalV4(references, estimates, {
      windowSamples: golden.windowSamples,
      hopSamples: golden.hopSamples,
      filterLength: golden.filterLength,
    });
    assert.equal(scores.length, golden.targets.length);
    let worst = 0;
    scores.forEach((target, j) => {
      const expected = golden.targets[j];
      assert.equal(target.frames.length, expected.frames.SDR.length, `target ${j}: frame count`);
      for (const metric of METRICS) {
        target.frames.forEach((frame, t) => {
          const value = expected.frames[metric][t];
          if (value === null) {
            assert.ok(
              Number.isNaN(frame[metric]),
              `target ${j} ${metric} frame ${t}: ${frame[metric]}, not NaN`,
            );
          } else {
            worst = Math.max(worst, Math.abs(frame[metric] - value));
            assertClose(frame[metric], value, 0.01, `target ${j} ${metric} frame ${t}`);
          }
        });
        assertClose(target[metric], expected.median[metric]!, 0.01, `target ${j} median ${metric}`);
      }
      assertClose(target.globalSDR, expected.globalSDR, 1e-9, `target ${j} global SDR`);
      assert.deepEqual(
        target.frames.map((f) => [f.time, f.duration]),
        [
          [0, 1],
          [1, 1],
          [2, 1],
        ],
        'frames of 1 s at 0, 1, 2 s; the last half second is not a frame',
      );
    });
    // measured: 4e-13 dB (float64 throughout, the same algorithm)
    assert.ok(worst < 1e-6, `max deviation ${worst} dB`);
  });
});

describe('bssEvalV4 on constructed estimates (analytic values)', () => {
  const n = 3 * SR;
  const refs = [whiteNoise(1, n), whiteNoise(2, n)];
  const frames = [0, 1, 2].map((t) => [t * SR, (t + 1) * SR] as const);

  it('perfect estimates: SDR +∞ (museval _safe_db: the error is exactly 0), ISR/SIR/SAR > 250 dB', async () => {
    const scores = await bssEvalV4(refs, refs);
    for (const [j, target] of scores.entries()) {
      for (const frame of target.frames) {
        assert.equal(frame.SDR, Infinity, `target ${j}: SDR ${frame.SDR}`);
        for (const metric of ['SIR', 'SAR', 'ISR'] as const) {
          assert.ok(frame[metric] > 250, `target ${j} ${metric} ${frame[metric]}`);
        }
      }
      // museval's TrackStore stores ±∞ as NaN before the median, so a track of ∞ frames has a NaN median
      assert.ok(Number.isNaN(target.SDR), `target ${j}: median SDR ${target.SDR}, museval gives NaN`);
      assert.ok(target.SAR > 250, `target ${j}: median SAR ${target.SAR}`);
    }
  });

  it('a scaled estimate g·s: SDR = ISR = −20·log10|1 − g| (the images SDR is not scale-invariant), SIR, SAR > 100 dB', async () => {
    // est − s = (g − 1)·s, and the spatial filter reproduces g·s exactly (one tap): the scale error is all
    // spatial distortion; SIR and SAR see none of it. Target 1 (an independent case, evaluated alongside): white
    // noise at −20 dB.
    const d = 2 * 512; // filter taps from one stereo reference to an estimate channel
    const noisy = mix(refs[1], 1, whiteNoise(7, n), 0.1);
    const scores = await bssEvalV4(refs, [mix(refs[0], 0.5), noisy]);
    const [scaled, withNoise] = scores;
    for (const [t, frame] of scaled.frames.entries()) {
      assertClose(frame.SDR, -20 * Math.log10(0.5), 1e-9, `scaled SDR frame ${t}`);
      assertClose(frame.ISR, -20 * Math.log10(0.5), 1e-9, `scaled ISR frame ${t}`);
      assert.ok(frame.SIR > 100 && frame.SAR > 100, `scaled SIR ${frame.SIR}, SAR ${frame.SAR}`);
    }
    // est = s + w, w white at −20 dB: SDR is the frame SNR exactly. The projection on all references (2d
    // dimensions of the N = 132 300) takes ~2d/N of w: e_artif = w − Π(w), so SAR = SNR − 10·log10(1 − 2d/N)
    // (+0.07 dB); e_interf and e_spat are ~d/N of w: SIR ≈ ISR ≈ SNR − 10·log10(d/N) (+21.1 dB).
    for (const [t, frame] of withNoise.frames.entries()) {
      const [from, to] = frames[t];
      const snr = snrDb(refs[1], noisy, from, to);
      assertClose(snr, 20, 0.1, `noise level frame ${t}`);
      assertClose(frame.SDR, snr, 1e-9, `noisy SDR frame ${t}`);
      assertClose(frame.SAR, snr - 10 * Math.log10(1 - (2 * d) / n), 0.01, `noisy SAR frame ${t}`);
      assertClose(frame.SIR, snr - 10 * Math.log10(d / n), 0.5, `noisy SIR frame ${t}`);
      assertClose(frame.ISR, snr - 10 * Math.log10(d / n), 0.5, `noisy ISR frame ${t}`);
    }
  });

  it('additive interference est_j = s_j + a·s_k: SIR = SDR = 10·log10(‖s_j‖²/‖a·s_k‖²), SAR and ISR high', async () => {
    // SDR = 10·log10(‖s_j‖² / (a²‖s_k‖²)) exactly (est − s = a·s_k; frame energies). For uncorrelated sources the
    // interference filter keeps a·s_k whole, and the projection on s_j's d = 2·512 delays takes ~ d/N of its energy
    // (N = 132 300 samples): e_spat = a·Π_j(s_k), e_interf = a·(s_k − Π_j(s_k)), so
    // SIR = SDR − 10·log10(1 − d/N) (+0.034 dB) and ISR = SDR − 10·log10(d/N) (+21.1 dB, ± the spread of a
    // 1024-dimensional projection). est lies in the span of the references: e_artif ≈ 0, SAR → very high.
    const [a, b] = [0.1, 0.3];
    const d = 2 * 512;
    const estimates = [mix(refs[0], 1, refs[1], a), mix(refs[1], 1, refs[0], b)];
    const scores = await bssEvalV4(refs, estimates);
    for (const [j, gain] of [a, b].entries()) {
      const k = 1 - j;
      for (const [t, frame] of scores[j].frames.entries()) {
        const [from, to] = frames[t];
        const expected = energyRatioDb(refs[j], refs[k], from, to) - 20 * Math.log10(gain);
        assertClose(frame.SDR, snrDb(refs[j], estimates[j], from, to), 1e-9, `target ${j} SDR frame ${t}`);
        assertClose(frame.SDR, expected, 1e-3, `target ${j} SDR (analytic) frame ${t}`);
        assertClose(frame.SIR, expected - 10 * Math.log10(1 - d / n), 0.02, `target ${j} SIR frame ${t}`);
        assert.ok(frame.SAR > 100, `target ${j} SAR ${frame.SAR}`);
        assertClose(frame.ISR, expected - 10 * Math.log10(d / n), 0.5, `target ${j} ISR frame ${t}`);
      }
      assertClose(scores[j].SIR, -20 * Math.log10(gain), 0.1, `target ${j} median SIR ≈ −20·log10(a)`);
    }
  });
});

describe('bssEvalV4 frames, padding and validation', () => {
  // A short filter keeps these cases fast; none of the rules here depend on its length.
  const L = { filterLength: 16 };
  const n = 4 * SR + 1000;
  const refs = [whiteNoise(11, n), whiteNoise(12, n)];
  const ests = [mix(refs[0], 1, refs[1], 0.2), mix(refs[1], 0.8, whiteNoise(13, n), 0.3)];

  it('follows museval Framing: floor((n − win + hop)/hop) frames, one frame when the signal is shorter', async () => {
    const full = await bssEvalV4(refs, ests, L);
    assert.deepEqual(
      full[0].frames.map((f) => f.time),
      [0, 1, 2, 3],
    );
    const overlapped = await bssEvalV4(refs, ests, { ...L, windowSamples: 2 * SR, hopSamples: SR / 2 });
    assert.equal(overlapped[0].frames.length, Math.floor((n - 2 * SR + SR / 2) / (SR / 2)));
    const short = [0, 1].map((j) => ({
      left: refs[j].left.subarray(0, 30000),
      right: refs[j].right.subarray(0, 30000),
    }));
    const shortEst = [0, 1].map((j) => ({
      left: ests[j].left.subarray(0, 30000),
      right: ests[j].right.subarray(0, 30000),
    }));
    const one = await bssEvalV4(short, shortEst, L);
    assert.equal(one[0].frames.length, 1, 'one frame');
    assertClose(one[0].frames[0].duration, 30000 / SR, 1e-12, 'the frame is the whole signal');
    assertClose(
      one[0].frames[0].SDR,
      snrDb(short[0], shortEst[0], 0, 30000),
      1e-9,
      'SDR of the whole signal',
    );
  });

  it('makes a frame NaN for every target when a reference or an estimate is silent in it; medians skip it', async () => {
    const silentRef = { left: refs[1].left.slice(), right: refs[1].right.slice() };
    silentRef.left.fill(0, SR, 2 * SR);
    silentRef.right.fill(0, SR, 2 * SR);
    const silentEst = { left: ests[0].left.slice(), right: ests[0].right.slice() };
    // left = −right also counts as silent: museval sums the channels before testing for 0
    for (let i = 3 * SR; i < 4 * SR; i++) silentEst.right[i] = -silentEst.left[i];
    const scores = await bssEvalV4([refs[0], silentRef], [silentEst, ests[1]], L);
    for (const [j, target] of scores.entries()) {
      for (const metric of METRICS) {
        const values = target.frames.map((f) => f[metric]);
        assert.ok(Number.isNaN(values[1]) && Number.isNaN(values[3]), `target ${j} ${metric}: ${values}`);
        assert.ok(
          Number.isFinite(values[0]) && Number.isFinite(values[2]),
          `target ${j} ${metric}: ${values}`,
        );
        assertClose(target[metric], (values[0] + values[2]) / 2, 1e-12, `target ${j} median ${metric}`);
        assertClose(target[metric], median(values), 1e-12, `target ${j} median ${metric}`);
      }
    }
  });

  it('cuts or zero-pads the estimates to the reference length (museval pad_or_truncate)', async () => {
    const cut = (x: Stereo, m: number): Stereo => ({ left: x.left.slice(0, m), right: x.right.slice(0, m) });
    const padded = (x: Stereo, m: number): Stereo => {
      const out = { left: new Float32Array(n), right: new Float32Array(n) };
      out.left.set(x.left.subarray(0, m));
      out.right.set(x.right.subarray(0, m));
      return out;
    };
    const m = n - 3000;
    const short = await bssEvalV4(
      refs,
      ests.map((e) => cut(e, m)),
      L,
    );
    const explicit = await bssEvalV4(
      refs,
      ests.map((e) => padded(e, m)),
      L,
    );
    assert.deepEqual(short, explicit, 'a short estimate scores as its zero-padded version');
    const longer = ests.map((e) => ({
      left: Float32Array.from([...e.left, ...noise(5, 2000)]),
      right: Float32Array.from([...e.right, ...noise(6, 2000)]),
    }));
    assert.deepEqual(await bssEvalV4(refs, longer, L), await bssEvalV4(refs, ests, L), 'a long one is cut');
    // the global SDR is on the fitted estimate too
    assertClose(short[0].globalSDR, snrDb(refs[0], padded(ests[0], m), 0, n), 1e-9, 'global SDR');
  });

  it('refuses mismatched counts and lengths, and silent sources, with RangeError', async () => {
    const odd = { left: refs[0].left, right: refs[0].right.subarray(1) };
    const cases: [string, () => Promise<unknown>][] = [
      ['count', () => bssEvalV4(refs, [ests[0]], L)],
      ['none', () => bssEvalV4([], [], L)],
      ['reference lengths', () => bssEvalV4([refs[0], whiteNoise(3, n - 1)], ests, L)],
      ['estimate lengths', () => bssEvalV4(refs, [ests[0], whiteNoise(3, n - 1)], L)],
      ['channel lengths', () => bssEvalV4([odd, refs[1]], ests, L)],
      [
        'silent reference',
        () => bssEvalV4([refs[0], { left: new Float32Array(n), right: new Float32Array(n) }], ests, L),
      ],
      [
        'silent estimate',
        () => bssEvalV4(refs, [ests[0], { left: new Float32Array(n), right: new Float32Array(n) }], L),
      ],
      ['window', () => bssEvalV4(refs, ests, { windowSamples: 0 })],
      ['filter length', () => bssEvalV4(refs, ests, { filterLength: 1.5 })],
    ];
    for (const [what, run] of cases) await assert.rejects(run, RangeError, what);
  });

  it('evaluateTargets pairs targets by name, in the references’ order', async () => {
    const byName = await evaluateTargets(
      { vocals: refs[0], accompaniment: refs[1] },
      { accompaniment: ests[1], vocals: ests[0] },
      L,
    );
    const direct: TargetScores[] = await bssEvalV4(refs, ests, L);
    assert.deepEqual(Object.keys(byName), ['vocals', 'accompaniment']);
    assert.deepEqual(byName.vocals, direct[0]);
    assert.deepEqual(byName.accompaniment, direct[1]);
    await assert.rejects(
      () => evaluateTargets({ vocals: refs[0], drums: refs[1] }, { vocals: ests[0], bass: ests[1] }, L),
      /no estimate for drums; no reference for bass/,
    );
  });
});
