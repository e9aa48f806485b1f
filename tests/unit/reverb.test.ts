/**
 * Tempo-mapped reverb (src/pipeline/mixer/reverb.ts) against independent truths: the paper's line evaluated by
 * hand, the RT60 measured on the impulse by Schroeder backward integration (ISO 3382-1 T30), direct time-domain
 * convolution in float64, and the energy bookkeeping of a unit impulse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { seededRandom } from '../../src/fixtures/seededRandom.js';
import {
  applyReverb,
  REVERB_MAX_RT60_S,
  REVERB_MIN_RT60_S,
  REVERB_PRE_DELAY_S,
  reverbImpulse,
  reverbImpulseLength,
  reverbTailLength,
  reverbTimeForTempo,
} from '../../src/pipeline/mixer/reverb.js';

const SR = 44100;

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

/**
 * RT60 from the Schroeder energy decay curve EDC(t) = Σ_{τ≥t} h²(τ) (ISO 3382-1): least-squares line through the
 * EDC in dB between −5 and −35 dB, RT60 = −60 / slope (T30 = 2 × the 30 dB span's time).
 */
function schroederT30(h: Float32Array, sampleRate: number): number {
  const edc = new Float64Array(h.length);
  let sum = 0;
  for (let i = h.length - 1; i >= 0; i--) {
    sum += h[i] * h[i];
    edc[i] = sum;
  }
  let [n, sx, sy, sxx, sxy] = [0, 0, 0, 0, 0];
  for (let i = 0; i < h.length; i++) {
    const db = 10 * Math.log10(edc[i] / edc[0]);
    if (db > -5 || db < -35) continue;
    const t = i / sampleRate;
    n++;
    sx += t;
    sy += db;
    sxx += t * t;
    sxy += t * db;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return -60 / slope;
}

function correlation(a: Float32Array, b: Float32Array, from = 0): number {
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = from; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

function energy(x: Float32Array, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i] * x[i];
  return sum;
}

/** Spectral centroid (Hz) of x[from, from + 4096) by a direct DFT at 64 frequencies (coarse, independent of PFFFT). */
function centroid(x: Float32Array, from: number): number {
  const n = 4096;
  let [weighted, total] = [0, 0];
  for (let k = 1; k <= 64; k++) {
    const f = (k * SR) / 2 / 65;
    let [re, im] = [0, 0];
    for (let i = 0; i < n; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
      re += x[from + i] * w * Math.cos((2 * Math.PI * f * i) / SR);
      im -= x[from + i] * w * Math.sin((2 * Math.PI * f * i) / SR);
    }
    const power = re * re + im * im;
    weighted += f * power;
    total += power;
  }
  return weighted / total;
}

describe('reverbTimeForTempo (RT = −T/45 + 40/9 s)', () => {
  it('gives 16/9 s at 120 BPM and falls 1/45 s per BPM', () => {
    assertClose(reverbTimeForTempo(120), 1.7777777777777777, 1e-9, 'RT at 120 BPM');
    assertClose(reverbTimeForTempo(100) - reverbTimeForTempo(130), 30 / 45, 1e-12, 'RT(100) − RT(130)');
    assertClose(reverbTimeForTempo(90), -90 / 45 + 40 / 9, 1e-12, 'RT at 90 BPM');
  });

  it('clamps to [0.4, 3] s outside 65–182 BPM and refuses a non-positive tempo', () => {
    assertClose(reverbTimeForTempo(65), 3, 1e-12, 'RT at 65 BPM (the upper clamp, on the line)');
    assertClose(reverbTimeForTempo(182), 0.4, 1e-12, 'RT at 182 BPM (the lower clamp, on the line)');
    assert.equal(reverbTimeForTempo(40), REVERB_MAX_RT60_S, 'slow songs are held at the maximum');
    assert.equal(reverbTimeForTempo(240), REVERB_MIN_RT60_S, 'past 200 BPM the line is negative: held');
    assert.throws(() => reverbTimeForTempo(0), RangeError, 'tempo 0');
    assert.throws(() => reverbTimeForTempo(Number.NaN), RangeError, 'tempo NaN');
  });
});

describe('reverbImpulse', () => {
  for (const rt60 of [0.5, 1.5, 3]) {
    it(`decays with the asked RT60 of ${rt60} s (Schroeder T30, ±5 %)`, () => {
      const h = reverbImpulse(rt60, SR, 11);
      assert.equal(h.left.length, reverbImpulseLength(rt60, SR), 'length');
      for (const [name, channel] of [
        ['left', h.left],
        ['right', h.right],
      ] as const) {
        const measured = schroederT30(channel, SR);
        assert.ok(Math.abs(measured / rt60 - 1) < 0.05, `${name}: T30 ${measured} s for ${rt60} s`);
        assertClose(energy(channel), 1, 1e-5, `${name} energy (unit)`);
      }
      const corr = correlation(h.left, h.right);
      assert.ok(Math.abs(corr) < 0.1, `L/R correlation ${corr}`);
    });
  }

  it('is silent for the pre-delay, seeded, and darkens as it decays', () => {
    const h = reverbImpulse(1.5, SR, 3);
    const preDelay = Math.round(REVERB_PRE_DELAY_S * SR);
    assert.equal(energy(h.left, 0, preDelay), 0, 'pre-delay');
    assert.ok(h.left[preDelay] !== 0, 'the tail starts after the pre-delay');
    assert.deepEqual(reverbImpulse(1.5, SR, 3), h, 'same seed, same impulse');
    assert.ok(correlation(reverbImpulse(1.5, SR, 4).left, h.left) < 0.1, 'another seed, another noise');
    const early = centroid(h.left, preDelay);
    const late = centroid(h.left, preDelay + Math.round(0.75 * 1.5 * SR));
    assert.ok(late < 0.7 * early, `spectral centroid should fall: ${early} Hz early, ${late} Hz late`);
  });
});

describe('applyReverb', () => {
  it('matches direct time-domain convolution (1e-5)', async () => {
    const random = seededRandom(5);
    const n = 2000;
    const x = { left: new Float32Array(n), right: new Float32Array(n) };
    for (let i = 0; i < n; i++) [x.left[i], x.right[i]] = [random.uniform(-1, 1), random.uniform(-1, 1)];
    const settings = { rt60S: 0.1, wet: 0.4, seed: 9 };
    const h = reverbImpulse(settings.rt60S, SR, settings.seed);
    const y = await applyReverb(x, settings, SR);
    for (const side of ['left', 'right'] as const) {
      const [xs, hs] = [x[side], h[side]];
      assert.equal(y[side].length, n + hs.length - 1, `${side} length`);
      let maxDiff = 0;
      for (let k = 0; k < y[side].length; k++) {
        let sum = 0;
        for (let i = Math.max(0, k - hs.length + 1); i <= Math.min(k, n - 1); i++) sum += xs[i] * hs[k - i];
        const expected = 0.4 * sum + (k < n ? 0.6 * xs[k] : 0);
        maxDiff = Math.max(maxDiff, Math.abs(y[side][k] - expected));
      }
      assert.ok(maxDiff < 1e-5, `${side}: max |FFT − direct| ${maxDiff}`);
    }
  });

  it('passes a unit impulse as 0.6 dry at t = 0 and a tail of energy 0.4²·‖h‖²', async () => {
    const x = { left: new Float32Array(1000), right: new Float32Array(1000) };
    x.left[0] = 1;
    x.right[0] = 1;
    const y = await applyReverb(x, { rt60S: 1.5, wet: 0.4 }, SR);
    const h = reverbImpulse(1.5, SR, 1);
    assert.equal(y.left.length, 1000 + reverbTailLength(1.5, SR), 'output = input + tail');
    for (const side of ['left', 'right'] as const) {
      assertClose(y[side][0], 0.6, 1e-6, `${side} dry gain at t = 0`);
      assertClose(energy(y[side], 1), 0.16 * energy(h[side]), 1e-5, `${side} wet energy`);
    }
    // a mono input comes out wide: the two wet tails are decorrelated
    const corr = correlation(y.left, y.right, 1);
    assert.ok(Math.abs(corr) < 0.1, `wet L/R correlation ${corr}`);
  });

  it('is the input when wet = 0, and refuses out-of-range settings', async () => {
    const random = seededRandom(2);
    const x = { left: new Float32Array(500).map(() => random.normal()), right: new Float32Array(500) };
    const y = await applyReverb(x, { rt60S: 0.5, wet: 0 }, SR);
    assert.deepEqual(y.left.subarray(0, 500), x.left, 'dry only');
    assert.equal(energy(y.left, 500), 0, 'no tail');
    await assert.rejects(applyReverb(x, { rt60S: 0.5, wet: 1.5 }), RangeError, 'wet > 1');
    await assert.rejects(applyReverb(x, { rt60S: 0, wet: 0.4 }), RangeError, 'RT60 0');
  });
});
