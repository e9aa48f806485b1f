/**
 * DSP building blocks of the KaraFan v1.3 recipe against independent truths: scipy's own output
 * (tests/fixtures/golden/dsp.json, made by tests/reference/dsp_reference.py) and analytic facts from the spec.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { butter2, filtfilt, lfilter, lfilterZi } from '../../src/pipeline/dsp/butterworth.js';
import { srsCrossover } from '../../src/pipeline/dsp/crossover.js';
import { normalize } from '../../src/pipeline/dsp/normalize.js';
import { polyphaseFilter, resamplePoly, srsDown, srsUp } from '../../src/pipeline/dsp/resamplePoly.js';
import {
  SILENT_FADE,
  SILENT_MIN_LENGTH,
  SILENT_WINDOW,
  silentGate,
  windowLevelDb,
} from '../../src/pipeline/dsp/silentGate.js';
import { dspGolden, gatedNoise, mulberry32, noise, runs } from '../support/dspGolden.js';

// ---------------------------------------------------------------------------------------------------------------
// Golden file

const golden = dspGolden;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let max = 0;
  for (let i = from; i < to; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Half a float32 ulp of v: the most that rounding an exact float64 result to float32 can move it. */
function halfUlp32(v: number): number {
  const abs = Math.abs(Math.fround(v));
  if (abs < 2 ** -126) return 2 ** -150;
  return 2 ** (Math.floor(Math.log2(abs)) - 24);
}

function sine(length: number, freqHz: number, amplitude: number, sampleRate = 44100): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freqHz * i) / sampleRate);
  return out;
}

const mono = (x: Float32Array): Stereo => ({ left: x, right: x.slice() });

// Every assertion carries a message: a bare assert.ok(false) makes node re-parse the tsx-transpiled source to build
// one, which can take minutes.
function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

function assertMaxDiff(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
  from = 0,
  to = actual.length,
): void {
  const diff = maxAbsDiff(actual, expected, from, to);
  assert.ok(diff <= tolerance, `${what}: max |diff| ${diff} > ${tolerance}`);
}

// ---------------------------------------------------------------------------------------------------------------

describe('test inputs', () => {
  it('mulberry32 matches the Python generator', () => {
    assert.deepEqual(Array.from(mulberry32(golden.mulberry32Check.seed, 4)), golden.mulberry32Check.first);
  });
});

describe('resamplePoly (spec §D.3 step 1)', () => {
  it('designs firwin(101, 1/5, kaiser 5)·up for 5/4 and 4/5', () => {
    const ref = golden.polyphaseFilter54;
    for (const [up, down] of [
      [5, 4],
      [4, 5],
    ]) {
      const h = polyphaseFilter(up, down);
      assert.equal(h.length, 101);
      const scaled = ref.map((v) => v * up);
      assert.ok(maxAbsDiff(h, scaled) < 1e-15, `filter ${up}/${down} differs from scipy`);
      assert.ok(Math.abs(h.reduce((s, v) => s + v, 0) - up) < 1e-13, 'Σh = up');
    }
  });

  it('equals scipy resample_poly 5/4 and 4/5 on n = 1000, 1001, 1003', () => {
    for (const c of golden.resample) {
      const x = noise(c.seed, c.n);
      for (const [y, ref] of [
        [resamplePoly(x, 5, 4), c.up54],
        [resamplePoly(x, 4, 5), c.down45],
      ] as const) {
        assert.equal(y.length, ref.length, `length for n = ${c.n}`);
        assert.ok(maxAbsDiff(y, ref) < 1e-6, `n = ${c.n}: max diff ${maxAbsDiff(y, ref)}`);
        // stronger: the float64 math is exact, only the final float32 rounding differs from scipy
        for (let i = 0; i < y.length; i++) {
          assert.ok(Math.abs(y[i] - ref[i]) <= halfUlp32(ref[i]) + 1e-13, `n = ${c.n}, sample ${i}`);
        }
      }
    }
  });

  it('equals the zero-stuffed convolution of the spec for any length and rate (polyphase indexing, edges)', () => {
    // spec §D.3: y[q] = Σ_k h[k]·x_up[q·down + half − k], x_up[j·up] = x[j], zero elsewhere
    const naive = (x: Float32Array, up: number, down: number): Float64Array => {
      const h = polyphaseFilter(up, down);
      const half = (h.length - 1) / 2;
      const y = new Float64Array(Math.ceil((x.length * up) / down));
      for (let q = 0; q < y.length; q++) {
        for (let k = 0; k < h.length; k++) {
          const i = q * down + half - k;
          if (i >= 0 && i % up === 0 && i / up < x.length) y[q] += h[k] * x[i / up];
        }
      }
      return y;
    };
    const x = noise(21, 300);
    for (const [up, down] of [
      [5, 4],
      [4, 5],
      [3, 2],
      [2, 3],
      [1, 3],
      [7, 1],
    ]) {
      for (const n of [1, 2, 3, 4, 5, 9, 10, 11, 25, 26, 27, 60, 61, 300]) {
        const input = x.subarray(0, n);
        const y = resamplePoly(input, up, down);
        const ref = naive(input, up, down);
        assert.equal(y.length, ref.length, `${up}/${down}, n = ${n}`);
        for (let i = 0; i < y.length; i++) {
          assert.ok(
            Math.abs(y[i] - ref[i]) <= halfUlp32(ref[i]) + 1e-13,
            `${up}/${down}, n = ${n}, sample ${i}`,
          );
        }
      }
    }
    assert.deepEqual(resamplePoly(x, 10, 8), resamplePoly(x, 5, 4), 'up/down are divided by their gcd first');
  });

  it('follows the length rule ceil(n·up/down); the 5/4 → 4/5 round trip can add one sample', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 1000, 1001, 1002, 1003, 44100, 44101]) {
      const x = new Float32Array(n).fill(0.25);
      const up = srsUp({ left: x, right: x });
      assert.equal(up.left.length, Math.ceil((n * 5) / 4));
      const back = srsDown(up);
      const expected = Math.ceil((Math.ceil((n * 5) / 4) * 4) / 5);
      assert.equal(back.left.length, expected);
      assert.equal(back.right.length, expected);
      assert.ok(expected === n || expected === n + 1, `round trip of ${n} gives ${expected}`);
    }
    assert.equal(srsDown(srsUp(mono(new Float32Array(1001)))).left.length, 1002); // spec §F.19
  });

  it('keeps the amplitude, frequency and timing of a 1 kHz sine (zero-delay filter)', () => {
    const n = 44100;
    const amp = 0.8;
    const x = sine(n, 1000, amp);
    const up = resamplePoly(x, 5, 4); // now 55125 Hz: sample q sits at input time q·4/5
    let err = 0;
    for (let q = 200; q < up.length - 200; q++) {
      err = Math.max(err, Math.abs(up[q] - amp * Math.sin((2 * Math.PI * 1000 * ((q * 4) / 5)) / 44100)));
    }
    assert.ok(err < 2e-3, `5/4 error ${err}`);
    const down = resamplePoly(x, 4, 5); // 35280 Hz: sample q sits at input time q·5/4
    err = 0;
    for (let q = 200; q < down.length - 200; q++) {
      err = Math.max(err, Math.abs(down[q] - amp * Math.sin((2 * Math.PI * 1000 * ((q * 5) / 4)) / 44100)));
    }
    assert.ok(err < 2e-3, `4/5 error ${err}`);
    const roundTrip = resamplePoly(up, 4, 5);
    assert.ok(maxAbsDiff(roundTrip.subarray(0, n), x, 200, n - 200) < 2e-3, 'round trip');
  });

  it('returns a copy for up = down and handles empty input', () => {
    const x = Float32Array.of(1, 2, 3);
    const y = resamplePoly(x, 3, 3);
    assert.deepEqual(y, x);
    assert.notEqual(y, x);
    assert.equal(resamplePoly(new Float32Array(0), 5, 4).length, 0);
    assert.throws(() => resamplePoly(x, 0, 4), RangeError);
  });
});

describe('Butterworth 14 kHz + filtfilt (spec §D.3 step 3)', () => {
  const low = butter2('lowpass', 14000);
  const high = butter2('highpass', 14000);

  it('has the coefficients of the spec and of scipy butter(2, 14000/22050)', () => {
    assertMaxDiff(low.b, [0.4290847, 0.8581695, 0.4290847], 1e-7, 'LP b vs spec');
    assertMaxDiff(high.b, [0.178991, -0.357982, 0.178991], 1e-7, 'HP b vs spec');
    assertMaxDiff(low.a, [1, 0.5001874, 0.2161515], 1e-7, 'LP a vs spec');
    assertMaxDiff(high.a, [1, 0.5001874, 0.2161515], 1e-7, 'HP a vs spec');
    const ref = golden.crossover;
    assertMaxDiff(low.b, ref.lowpass.b, 1e-15, 'LP b vs scipy');
    assertMaxDiff(low.a, ref.lowpass.a, 1e-15, 'LP a vs scipy');
    assertMaxDiff(high.b, ref.highpass.b, 1e-15, 'HP b vs scipy');
    assertMaxDiff(high.a, ref.highpass.a, 1e-15, 'HP a vs scipy');
  });

  it('lfilterZi equals the spec values and scipy lfilter_zi', () => {
    assertMaxDiff(lfilterZi(low.b, low.a), [0.5709153, 0.2129332], 1e-7, 'LP zi vs spec');
    assertMaxDiff(lfilterZi(low.b, low.a), golden.crossover.lowpass.zi, 1e-14, 'LP zi vs scipy');
    assertMaxDiff(lfilterZi(high.b, high.a), golden.crossover.highpass.zi, 1e-14, 'HP zi vs scipy');
    // steady state: a unit step started from zi stays at the DC gain from the first sample
    const step = lfilter(low.b, low.a, new Float64Array(50).fill(1), lfilterZi(low.b, low.a));
    assertMaxDiff(step, new Float64Array(50).fill(1), 1e-14, 'step response from zi');
  });

  it('filtfilt equals scipy filtfilt (odd extension of 9, steady-state start), edges included', () => {
    const ref = golden.crossover;
    const x = noise(ref.seed, ref.n);
    const lp = filtfilt(low.b, low.a, x);
    const hp = filtfilt(high.b, high.a, x);
    assert.equal(lp.length, ref.n);
    assertMaxDiff(lp, ref.filtfiltLow, 1e-13, 'filtfilt LP vs scipy');
    assertMaxDiff(hp, ref.filtfiltHigh, 1e-13, 'filtfilt HP vs scipy');
    assert.throws(() => filtfilt(low.b, low.a, new Float32Array(9)), RangeError); // scipy: n must be > padlen
  });

  it('is −6.02 dB and zero phase at 14 kHz in each branch', () => {
    // 14000/44100 = 20/63: a whole number of periods every 63 samples. float64 input, so no rounding noise.
    const x = Float64Array.from(
      { length: 63 * 100 },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 14000 * i) / 44100),
    );
    for (const f of [low, high]) {
      const y = filtfilt(f.b, f.a, x);
      // zero phase, |H|² = 1/2: y = x/2 sample by sample away from the edges
      const half = x.map((v) => v / 2);
      assertMaxDiff(y, half, 1e-9, 'filtfilt(sine 14 kHz) = sine/2', 63 * 5, x.length - 63 * 5);
    }
    assertClose(20 * Math.log10(0.5), -6.0206, 1e-4, 'gain in dB');
  });

  it('crossover equals scipy LP(narrow) + HP(srs)', () => {
    const ref = golden.crossover;
    const x = noise(ref.seed, ref.n);
    const out = srsCrossover(
      { left: x, right: new Float32Array(ref.n) },
      { left: new Float32Array(ref.n), right: x },
    );
    assertMaxDiff(out.left, ref.filtfiltLow, 1e-6, 'crossover LP branch vs scipy');
    assertMaxDiff(out.right, ref.filtfiltHigh, 1e-6, 'crossover HP branch vs scipy');
  });

  it('crossover(x, x) = x and crossover(n, s) = n + HP(s − n) in the interior (|LP|² + |HP|² = 1)', () => {
    const n = 4000;
    const a = noise(11, n);
    const b = noise(12, n);
    const same = srsCrossover(mono(a), mono(a));
    // 60 samples from the edges the start-up transients (poles |z| ≈ 0.465) are below 1e-19
    assert.ok(maxAbsDiff(same.left, a, 60, n - 60) < 1e-6, 'LP(x) + HP(x) = x');
    const out = srsCrossover(mono(a), mono(b));
    const diff = new Float64Array(n);
    for (let i = 0; i < n; i++) diff[i] = b[i] - a[i];
    const hp = filtfilt(high.b, high.a, diff);
    const expected = new Float64Array(n);
    for (let i = 0; i < n; i++) expected[i] = a[i] + hp[i];
    assert.ok(maxAbsDiff(out.left, expected, 60, n - 60) < 1e-6, 'n + HP(s − n)');
  });

  it('rejects inputs of different lengths', () => {
    assert.throws(() => srsCrossover(mono(new Float32Array(100)), mono(new Float32Array(101))), RangeError);
  });
});

describe('silentGate, v1.3 (spec §D.2)', () => {
  it('measures window levels like librosa rms + amplitude_to_db (golden)', () => {
    const g = golden.silent;
    const audio = gatedNoise();
    assert.equal(g.levelsDb.length, Math.ceil(g.length / SILENT_WINDOW));
    for (let w = 0; w < g.levelsDb.length; w++) {
      const level = windowLevelDb(audio, w * SILENT_WINDOW, (w + 1) * SILENT_WINDOW);
      assert.ok(Math.abs(level - g.levelsDb[w]) < 1e-9, `window ${w}: ${level} vs ${g.levelsDb[w]}`);
    }
  });

  it('gates the gated-noise envelope exactly like the literal Python port', () => {
    const g = golden.silent;
    const audio = gatedNoise();
    const out = silentGate(audio, g.thresholdDb);
    assert.deepEqual(runs(audio.left, out.left), g.runsLeft);
    assert.deepEqual(runs(audio.right, out.right), g.runsRight);
    const sums = (x: Float32Array): [number, number] => [
      x.reduce((s, v) => s + v, 0),
      x.reduce((s, v) => s + v * v, 0),
    ];
    const [sumL, sqL] = sums(out.left);
    const [sumR, sqR] = sums(out.right);
    assertClose(sumL, g.sumLeft, 1e-9, 'Σ left');
    assertClose(sumR, g.sumRight, 1e-9, 'Σ right');
    assertClose(sqL / g.sumSquaresLeft, 1, 1e-12, 'Σ² left, relative');
    assertClose(sqR / g.sumSquaresRight, 1, 1e-12, 'Σ² right, relative');
  });

  // Loud = 0.5 sine, quiet = 1e-4 sine (≈ −86 dB with the v1.3 measure); every part is a whole number of windows.
  const W = SILENT_WINDOW;
  function envelope(parts: [windows: number, loud: boolean][]): { audio: Stereo; bounds: number[] } {
    const bounds = [0];
    for (const [windows] of parts) bounds.push(bounds[bounds.length - 1] + windows * W);
    const x = new Float32Array(bounds[bounds.length - 1]);
    parts.forEach(([, loud], k) => {
      for (let i = bounds[k]; i < bounds[k + 1]; i++)
        x[i] = (loud ? 0.5 : 1e-4) * Math.sin((2 * Math.PI * i) / 44.1);
    });
    return { audio: mono(x), bounds };
  }
  /** out must equal in·gain(i) everywhere, for the expected gain. */
  function assertGain(input: Float32Array, output: Float32Array, gain: (i: number) => number): void {
    for (let i = 0; i < input.length; i++) {
      const want = input[i] * gain(i);
      assert.ok(
        Math.abs(output[i] - want) <= 1e-7 * Math.abs(input[i]),
        `sample ${i}: ${output[i]} vs ${want}`,
      );
    }
  }

  it('zeroes a 2 s quiet stretch with linear 0.25 s fades that start in the last loud window', () => {
    const { audio, bounds } = envelope([
      [100, true],
      [200, false],
      [100, true],
    ]);
    const input = audio.left.slice();
    const out = silentGate(audio, -50);
    const fadeOutStart = bounds[1] - W; // start = the last loud window
    const fadeInEnd = bounds[2]; // end = the end of the last quiet window
    assertGain(input, out.left, (i) => {
      if (i < fadeOutStart || i >= fadeInEnd) return 1;
      if (i < fadeOutStart + SILENT_FADE) return 1 - (i - fadeOutStart) / (SILENT_FADE - 1);
      if (i >= fadeInEnd - SILENT_FADE) return (i - (fadeInEnd - SILENT_FADE)) / (SILENT_FADE - 1);
      return 0;
    });
    assert.equal(out.left[fadeOutStart + SILENT_FADE], 0);
    assert.equal(out.left[fadeInEnd - SILENT_FADE - 1], 0);
    assert.notEqual(out.left[fadeInEnd - SILENT_FADE + 1], 0);
    assert.deepEqual(out.right, out.left);
    assert.deepEqual(audio.left, input, 'the input is not modified');
  });

  it('leaves quiet gaps alone unless end − start > 1 s (99 windows kept, 100 windows gated)', () => {
    for (const [gapWindows, gated] of [
      [50, false], // 0.5 s
      [99, false], // end − start = 99·441 + 441 = 44100, not > MIN
      [100, true], // 44541 > MIN
    ] as const) {
      const { audio } = envelope([
        [120, true],
        [gapWindows, false],
        [120, true],
      ]);
      const out = silentGate(audio, -50);
      const changed = out.left.some((v, i) => v !== audio.left[i]);
      assert.equal(changed, gated, `gap of ${gapWindows} windows`);
    }
    assert.equal(SILENT_MIN_LENGTH, 100 * W);
  });

  it('gates leading silence with a fade-in only and never gates trailing silence', () => {
    const { audio, bounds } = envelope([
      [150, false],
      [100, true],
      [400, false],
    ]);
    const input = audio.left.slice();
    const out = silentGate(audio, -50);
    assertGain(input, out.left, (i) => {
      if (i >= bounds[1]) return 1; // loud part and the 4 s of trailing quiet: untouched
      if (i >= bounds[1] - SILENT_FADE) return (i - (bounds[1] - SILENT_FADE)) / (SILENT_FADE - 1);
      return 0;
    });
  });

  it('calls a window loud only when its level is strictly above the threshold', () => {
    // Windows of a constant c: level = 10·log10(221·c²/441); with threshold = that level they count as quiet.
    const n = 300 * W;
    const x = new Float32Array(n).fill(0.01);
    for (let i = 0; i < 50 * W; i++) x[i] = 0.5;
    for (let i = 250 * W; i < n; i++) x[i] = 0.5;
    const audio = mono(x);
    const level = windowLevelDb(audio, 100 * W, 101 * W);
    assertClose(level, 10 * Math.log10((221 * Math.fround(0.01) ** 2) / 441), 1e-9, 'level of a constant');
    assert.ok(
      silentGate(audio, level).left.some((v, i) => v !== x[i]),
      'level = threshold: quiet, gated',
    );
    assert.ok(
      silentGate(audio, level - 1e-6).left.every((v, i) => v === x[i]),
      'level > threshold: loud, kept',
    );
  });

  it('only counts the first 221 samples of each 441 window', () => {
    const x = new Float32Array(W);
    x.fill(1, 221); // loud second half: invisible to the v1.3 measure
    assertClose(windowLevelDb(mono(x), 0, W), -100, 1e-12, 'floor: amin = 1e-5 → −100 dB');
    x[220] = 1;
    assertClose(windowLevelDb(mono(x), 0, W), 10 * Math.log10(1 / 441), 1e-12, 'one sample of 1 in 441');
  });
});

describe('normalize (spec §A.2 step 1)', () => {
  it('equals KaraFan Normalize on float32 data (golden)', () => {
    const g = golden.normalize;
    const left = noise(g.seedLeft, g.n);
    const right = noise(g.seedRight, g.n).map((v) => v * 0.5 + 0.25);
    const out = normalize({ left, right });
    assertMaxDiff(out.left, g.left, 1e-6, 'left vs KaraFan');
    assertMaxDiff(out.right, g.right, 1e-6, 'right vs KaraFan');
  });

  it('removes one DC value for both channels and puts the peak at −1 dBFS', () => {
    const n = 10000;
    const left = sine(n, 440, 0.3).map((v) => v + 0.2);
    const right = sine(n, 660, 0.6).map((v) => v - 0.2);
    const copy = left.slice();
    const out = normalize({ left, right });
    let peak = 0;
    let sum = 0;
    let sumLeft = 0;
    for (const ch of [out.left, out.right]) {
      for (const v of ch) {
        peak = Math.max(peak, Math.abs(v));
        sum += v;
      }
    }
    for (const v of out.left) sumLeft += v;
    assertClose(peak, 0.891251, 1e-6, 'peak');
    assert.equal(peak, Math.fround(10 ** (-1 / 20)));
    assertClose(sum / (2 * n), 0, 1e-6, 'mean over both channels');
    // the global mean was 0, so each channel keeps its own offset (scaled by 0.891251/0.8)
    assertClose(sumLeft / n, (0.2 * 0.891251) / 0.8, 1e-3, 'left channel offset');
    assert.deepEqual(left, copy, 'the input is not modified');
  });

  it('skips the scaling for digital silence and honours peakDb', () => {
    const silent = normalize(mono(new Float32Array(100).fill(0.3)));
    assert.ok(
      silent.left.every((v) => v === 0) && silent.right.every((v) => v === 0),
      'DC-only input → zeros',
    );
    const x = sine(1000, 100, 0.1);
    const out = normalize(mono(x), -6);
    const peak = out.left.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.equal(peak, Math.fround(10 ** (-6 / 20)));
  });
});

// ---------------------------------------------------------------------------------------------------------------
