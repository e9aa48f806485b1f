/**
 * RBJ Audio EQ Cookbook biquads (src/pipeline/dsp/biquad.ts) against independent truths: the response measured by
 * running signals through applyBiquads (DTFT of the impulse response, steady-state sine amplitude), the analytic
 * gains the cookbook designs guarantee (exact at DC, Nyquist and the pre-warped centre/corner), scipy's
 * Butterworth via butter2, and the cookbook's definition of the peaking filter's Q.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { butter2, lfilter } from '../../src/pipeline/dsp/butterworth.js';
import {
  applyBiquads,
  applyBiquadsStereo,
  type Biquad,
  biquadGainDb,
  highPass,
  highShelf,
  lowPass,
  lowShelf,
  peakingEq,
} from '../../src/pipeline/dsp/biquad.js';

const FS = 44100;
const NYQUIST = FS / 2;
const HALF_POWER_DB = 10 * Math.log10(0.5); // −3.0103 dB: |H| = 1/√2

// Every assertion carries a message: a bare assert.ok(false) makes node re-parse the source to build one.
function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

/** |Σ h[n]·e^{−jωn}| in dB: the DTFT of a (decayed) impulse response at one frequency, in float64. */
function dtftGainDb(h: ArrayLike<number>, freqHz: number): number {
  const w = (2 * Math.PI * freqHz) / FS;
  let re = 0;
  let im = 0;
  for (let n = 0; n < h.length; n++) {
    re += h[n] * Math.cos(w * n);
    im -= h[n] * Math.sin(w * n);
  }
  return 10 * Math.log10(re * re + im * im);
}

function impulseResponse(filters: readonly Biquad[], length: number): Float32Array {
  const impulse = new Float32Array(length);
  impulse[0] = 1;
  return applyBiquads(impulse, filters);
}

const designs: { name: string; filter: Biquad }[] = [
  { name: 'peakingEq(1 kHz, +9 dB, Q 2)', filter: peakingEq(1000, 9, 2) },
  { name: 'peakingEq(250 Hz, −12 dB, Q 0.7)', filter: peakingEq(250, -12, 0.7) },
  { name: 'lowShelf(200 Hz, +6 dB, Q 0.707)', filter: lowShelf(200, 6, Math.SQRT1_2) },
  { name: 'highShelf(6 kHz, −8 dB, Q 1)', filter: highShelf(6000, -8, 1) },
  { name: 'highPass(120 Hz, Q 0.707)', filter: highPass(120, Math.SQRT1_2) },
  { name: 'lowPass(5 kHz, Q 1.5)', filter: lowPass(5000, 1.5) },
];

// 40 log-spaced frequencies from 20 Hz to 21 kHz
const probeFrequencies = Array.from({ length: 40 }, (_, k) => 20 * (21000 / 20) ** (k / 39));

describe('biquadGainDb against the measured response', () => {
  it('equals the DTFT of the impulse response run through applyBiquads, within 0.01 dB', () => {
    for (const { name, filter } of designs) {
      const h = impulseResponse([filter], 1 << 15); // 0.74 s: every design here has decayed below float32 noise
      for (const f of probeFrequencies) {
        const expected = biquadGainDb(filter, f);
        if (expected < -60) continue; // far down a high-pass skirt the float32 output's rounding dominates
        assertClose(dtftGainDb(h, f), expected, 0.01, `${name} at ${f.toFixed(1)} Hz`);
      }
    }
  });

  it('equals the steady-state amplitude of long sines, within 0.01 dB', () => {
    const filters = [peakingEq(1000, 9, 2), highPass(120, Math.SQRT1_2)];
    for (const f of [50, 120, 700, 1000, 1400, 9000]) {
      const x = new Float32Array(2 * FS);
      for (let n = 0; n < x.length; n++) x[n] = 0.5 * Math.sin((2 * Math.PI * f * n) / FS);
      const y = applyBiquads(x, filters);
      // project the last second (an integer number of periods for integer f) onto sin and cos
      let s = 0;
      let c = 0;
      for (let n = FS; n < 2 * FS; n++) {
        s += y[n] * Math.sin((2 * Math.PI * f * n) / FS);
        c += y[n] * Math.cos((2 * Math.PI * f * n) / FS);
      }
      const amplitude = (2 / FS) * Math.hypot(s, c);
      const expected = biquadGainDb(filters[0], f) + biquadGainDb(filters[1], f);
      assertClose(20 * Math.log10(amplitude / 0.5), expected, 0.01, `cascade at ${f} Hz`);
    }
  });
});

describe('peakingEq', () => {
  it('has exactly gainDb at the centre and 0 dB at DC and Nyquist', () => {
    for (const [f0, g, q] of [
      [1000, 9, 2],
      [60, -15, 0.5],
      [15000, 4.5, 8],
    ]) {
      const filter = peakingEq(f0, g, q);
      assertClose(biquadGainDb(filter, f0), g, 1e-9, `gain at centre ${f0} Hz`);
      assertClose(biquadGainDb(filter, 0), 0, 1e-9, `gain at DC (${f0} Hz)`);
      assertClose(biquadGainDb(filter, NYQUIST), 0, 1e-9, `gain at Nyquist (${f0} Hz)`);
    }
  });

  it('0 dB gain is the identity filter', () => {
    const filter = peakingEq(1000, 0, 1);
    assert.deepEqual(
      [filter.b0, filter.b1, filter.b2],
      [1, filter.a1, filter.a2],
      'b must equal a when the gain is 0 dB',
    );
  });

  it('has the bandwidth the cookbook defines for Q', () => {
    // Cookbook: Q is that of the analog prototype, whose half-gain (gainDb/2) frequencies Ω1 < 1 < Ω2 satisfy
    // Ω2 − Ω1 = 1/Q and Ω1·Ω2 = 1; the bilinear transform maps them to Ω = tan(πf/fs)/tan(πf0/fs). The
    // cookbook's octave form 1/Q = 2·sinh(ln2/2 · BW · ω0/sin ω0) is its approximation of that warping.
    for (const [f0, g, q] of [
      [1000, 9, 2],
      [250, -12, 0.7],
      [8000, 6, 1.4],
    ]) {
      const filter = peakingEq(f0, g, q);
      const half = g / 2;
      const crossing = (lo: number, hi: number): number => {
        // bisection on biquadGainDb(f) − g/2, which changes sign once on each side of the peak
        const sign = Math.sign(biquadGainDb(filter, lo) - half);
        for (let k = 0; k < 100; k++) {
          const mid = (lo + hi) / 2;
          if (Math.sign(biquadGainDb(filter, mid) - half) === sign) lo = mid;
          else hi = mid;
        }
        return (lo + hi) / 2;
      };
      const f1 = crossing(1e-6, f0);
      const f2 = crossing(f0, NYQUIST - 1e-6);
      const warp = (f: number): number => Math.tan((Math.PI * f) / FS) / Math.tan((Math.PI * f0) / FS);
      assertClose(warp(f2) - warp(f1), 1 / q, 1e-9, `Ω2 − Ω1 for f0 = ${f0} Hz`);
      assertClose(warp(f1) * warp(f2), 1, 1e-9, `Ω1·Ω2 for f0 = ${f0} Hz`);
      const w0 = (2 * Math.PI * f0) / FS;
      const octaves = Math.log2(f2 / f1);
      const cookbookQ = 1 / (2 * Math.sinh((Math.LN2 / 2) * octaves * (w0 / Math.sin(w0))));
      assertClose(cookbookQ, q, 0.01 * q, `cookbook octave form for f0 = ${f0} Hz`);
    }
  });
});

describe('lowPass / highPass', () => {
  it('sit at −3.01 dB at the corner with q = 1/√2, 0 dB in the pass band', () => {
    for (const fc of [40, 1000, 14000]) {
      assertClose(biquadGainDb(lowPass(fc, Math.SQRT1_2), fc), HALF_POWER_DB, 1e-9, `LP at ${fc} Hz`);
      assertClose(biquadGainDb(highPass(fc, Math.SQRT1_2), fc), HALF_POWER_DB, 1e-9, `HP at ${fc} Hz`);
      assertClose(biquadGainDb(lowPass(fc, Math.SQRT1_2), 0), 0, 1e-9, `LP at DC (${fc} Hz)`);
      assertClose(biquadGainDb(highPass(fc, Math.SQRT1_2), NYQUIST), 0, 1e-9, `HP at Nyquist (${fc} Hz)`);
    }
  });

  it('with q = 1/√2 are the Butterworth sections of butter2 (scipy butter(2, …))', () => {
    for (const fc of [80, 14000]) {
      for (const [kind, design] of [
        ['lowpass', lowPass(fc, Math.SQRT1_2)],
        ['highpass', highPass(fc, Math.SQRT1_2)],
      ] as const) {
        const { b, a } = butter2(kind, fc);
        const ours = [design.b0, design.b1, design.b2, design.a1, design.a2];
        const theirs = [b[0], b[1], b[2], a[1], a[2]];
        for (let k = 0; k < 5; k++)
          assertClose(ours[k], theirs[k], 1e-12, `${kind} ${fc} Hz coefficient ${k}`);
      }
    }
  });

  it('have the resonance Q sets: |H(f0)| = Q', () => {
    for (const q of [0.5, 2, 5]) {
      assertClose(biquadGainDb(lowPass(2000, q), 2000), 20 * Math.log10(q), 1e-9, `LP q ${q}`);
      assertClose(biquadGainDb(highPass(2000, q), 2000), 20 * Math.log10(q), 1e-9, `HP q ${q}`);
    }
  });
});

describe('shelves', () => {
  it('reach the gain far from the corner and half of it (in dB) at the corner', () => {
    for (const [fc, g, q] of [
      [200, 6, Math.SQRT1_2],
      [1000, -10, 0.5],
      [6000, 12, 1],
    ]) {
      const low = lowShelf(fc, g, q);
      const high = highShelf(fc, g, q);
      assertClose(biquadGainDb(low, 0), g, 1e-9, `low shelf ${fc} Hz at DC`);
      assertClose(biquadGainDb(low, NYQUIST), 0, 1e-9, `low shelf ${fc} Hz at Nyquist`);
      assertClose(biquadGainDb(low, fc), g / 2, 1e-9, `low shelf ${fc} Hz at the corner`);
      assertClose(biquadGainDb(high, 0), 0, 1e-9, `high shelf ${fc} Hz at DC`);
      assertClose(biquadGainDb(high, NYQUIST), g, 1e-9, `high shelf ${fc} Hz at Nyquist`);
      assertClose(biquadGainDb(high, fc), g / 2, 1e-9, `high shelf ${fc} Hz at the corner`);
      // "far from the corner": three octaves away the gain is within 0.1 dB of its plateau (q ≤ 1/√2 has no bump)
      if (q <= Math.SQRT1_2 && fc / 8 > 0 && fc * 8 < NYQUIST) {
        assertClose(biquadGainDb(low, fc / 8), g, 0.1 * Math.abs(g), `low shelf ${fc} Hz 3 oct below`);
        assertClose(biquadGainDb(high, fc * 8), g, 0.1 * Math.abs(g), `high shelf ${fc} Hz 3 oct above`);
      }
    }
  });
});

describe('argument checks', () => {
  it('throws RangeError for frequencies outside (0, fs/2) and q ≤ 0', () => {
    assert.throws(() => peakingEq(0, 3, 1), RangeError);
    assert.throws(() => peakingEq(NYQUIST, 3, 1), RangeError);
    assert.throws(() => lowShelf(-5, 3, 1), RangeError);
    assert.throws(() => highShelf(30000, 3, 1), RangeError);
    assert.throws(() => lowPass(1000, 0), RangeError);
    assert.throws(() => highPass(1000, -1), RangeError);
    assert.throws(() => highPass(Number.NaN, 1), RangeError);
    assert.throws(() => peakingEq(1000, Number.POSITIVE_INFINITY, 1), RangeError);
    assert.throws(() => lowPass(20000, 0.7, 32000), RangeError);
    assert.throws(() => biquadGainDb(lowPass(1000, 0.7), NYQUIST + 1), RangeError);
  });
});

describe('applyBiquads', () => {
  it('runs a cascade in order from rest and returns a new array', () => {
    const x = new Float32Array(64);
    for (let n = 0; n < x.length; n++) x[n] = Math.sin(n / 3) + (n === 5 ? 1 : 0);
    const first = peakingEq(3000, 6, 1);
    const second = lowPass(8000, 0.9);
    const cascade = applyBiquads(x, [first, second]);
    // the difference equation written out, float64
    const direct = (input: ArrayLike<number>, f: Biquad): Float64Array => {
      const y = new Float64Array(input.length);
      for (let n = 0; n < input.length; n++) {
        const x1 = n >= 1 ? input[n - 1] : 0;
        const x2 = n >= 2 ? input[n - 2] : 0;
        const y1 = n >= 1 ? y[n - 1] : 0;
        const y2 = n >= 2 ? y[n - 2] : 0;
        y[n] = f.b0 * input[n] + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
      }
      return y;
    };
    const expected = direct(direct(x, first), second);
    for (let n = 0; n < x.length; n++) {
      assertClose(cascade[n], expected[n], 1e-6 * Math.max(1, Math.abs(expected[n])), `sample ${n}`);
    }
    // and bit for bit what two float64 passes of the scipy lfilter port give, rounded once
    const coefficients = (f: Biquad): [number[], number[]] => [
      [f.b0, f.b1, f.b2],
      [1, f.a1, f.a2],
    ];
    const viaLfilter = lfilter(...coefficients(second), lfilter(...coefficients(first), x));
    assert.deepEqual(cascade, Float32Array.from(viaLfilter), 'cascade equals lfilter ∘ lfilter');
    const copy = applyBiquads(x, []);
    assert.notEqual(copy, x, 'an empty cascade still returns a new array');
    assert.deepEqual(copy, x, 'an empty cascade returns the input unchanged');
  });

  it('filters both channels alike in applyBiquadsStereo', () => {
    const left = new Float32Array(100).map((_, n) => Math.cos(n));
    const right = new Float32Array(100).map((_, n) => Math.sin(n / 2));
    const filters = [highShelf(5000, 3, 0.8)];
    const out = applyBiquadsStereo({ left, right }, filters);
    assert.deepEqual(out.left, applyBiquads(left, filters), 'left channel');
    assert.deepEqual(out.right, applyBiquads(right, filters), 'right channel');
  });
});
