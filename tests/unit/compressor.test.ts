/**
 * The feed-forward compressor (src/pipeline/mixer/compressor.ts) against analytic results of Giannoulis,
 * Massberg & Reiss 2012: the gain computer's static curve (eq. 4), the one-pole time constant α = e^{−1/(τ·fs)}
 * (eq. 7: 1 − 1/e of a step after τ), and the settled output level of a steady tone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { compress, compressorGainDb, type CompressorSettings } from '../../src/pipeline/mixer/compressor.js';

const FS = 44100;

// Every assertion carries a message: a bare assert.ok(false) makes node re-parse the source to build one.
function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

function sine(seconds: number, peakDb: number, freqHz = 1000, phase = 0): Float32Array {
  const x = new Float32Array(Math.round(seconds * FS));
  const amplitude = 10 ** (peakDb / 20);
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * freqHz * i) / FS + phase);
  return x;
}

/** Gain in dB applied at each sample, read back from a constant (DC) input: 20·log10(out/in). */
function gainTrace(levels: readonly number[], settings: CompressorSettings): Float64Array {
  const x = Float32Array.from(levels);
  const y = compress({ left: x, right: x }, settings);
  return Float64Array.from(y.left, (v, i) => 20 * Math.log10(v / x[i]));
}

function constant(value: number, length: number): number[] {
  return new Array<number>(length).fill(value);
}

describe('compressorGainDb (static curve, GMR 2012 eq. 4)', () => {
  const hard: CompressorSettings = { thresholdDb: -20, ratio: 4 };

  it('is 0 dB below the threshold and T + (in − T)/R − in above it', () => {
    for (const input of [-80, -40, -20.0001, -20]) {
      assert.equal(compressorGainDb(input, hard), 0, `below threshold at ${input} dB`);
    }
    for (const input of [-19, -10, 0, 6]) {
      assertClose(
        compressorGainDb(input, hard),
        -20 + (input + 20) / 4 - input,
        1e-12,
        `above at ${input} dB`,
      );
    }
    // a limiter: ratio Infinity holds the output at the threshold
    assertClose(input0(-5, { thresholdDb: -12, ratio: Infinity }), -12, 1e-12, 'ratio ∞ output');
  });

  it('follows the quadratic knee and joins both straight parts continuously', () => {
    const soft: CompressorSettings = { thresholdDb: -20, ratio: 4, kneeDb: 10 };
    const slope = 1 - 1 / 4;
    // inside the knee: gain = −(1 − 1/R)·(x − T + W/2)²/(2W)
    for (const input of [-24.9, -22, -20, -17, -15.1]) {
      const d = input + 20 + 5;
      assertClose(compressorGainDb(input, soft), (-slope * d * d) / 20, 1e-12, `knee at ${input} dB`);
    }
    // value and slope match the straight parts at both knee edges, T ∓ W/2
    const h = 1e-6;
    for (const edge of [-25, -15]) {
      const inside = compressorGainDb(edge + (edge < -20 ? h : -h), soft);
      const outside = compressorGainDb(edge + (edge < -20 ? -h : h), soft);
      assertClose(inside, outside, 1e-5, `continuity at ${edge} dB`);
      const slopeInside =
        (compressorGainDb(edge + (edge < -20 ? 2 * h : -h), soft) -
          compressorGainDb(edge + (edge < -20 ? h : -2 * h), soft)) /
        h;
      const slopeOutside = edge < -20 ? 0 : -slope;
      assertClose(slopeInside, slopeOutside, 1e-4, `slope continuity at ${edge} dB`);
    }
    // at the threshold the knee sits W/8·(1 − 1/R) below the hard curve's corner
    assertClose(compressorGainDb(-20, soft), (-slope * 10) / 8, 1e-12, 'knee depth at T');
  });

  it('adds the make-up gain and rejects bad settings', () => {
    assertClose(compressorGainDb(-10, { ...hard, makeupDb: 3 }), 3 - 7.5, 1e-12, 'make-up');
    assert.throws(() => compressorGainDb(0, { thresholdDb: -20, ratio: 0.5 }), RangeError);
    assert.throws(() => compressorGainDb(0, { thresholdDb: Number.NaN, ratio: 2 }), RangeError);
    assert.throws(() => compressorGainDb(0, { thresholdDb: -20, ratio: 2, kneeDb: -1 }), RangeError);
    assert.throws(
      () =>
        compress(
          { left: new Float32Array(4), right: new Float32Array(4) },
          { thresholdDb: -20, ratio: 2, attackMs: -1 },
        ),
      RangeError,
    );
  });
});

/** Output level in dB of the static curve for input level `input` dB. */
function input0(input: number, settings: CompressorSettings): number {
  return input + compressorGainDb(input, settings);
}

describe('compress', () => {
  it('settles a steady 1 kHz sine well above threshold at the analytic output level (±0.1 dB)', () => {
    const settingsList: CompressorSettings[] = [
      { thresholdDb: -30, ratio: 4 },
      { thresholdDb: -30, ratio: 4, attackMs: 1, releaseMs: 200 },
      { thresholdDb: -20, ratio: 10, kneeDb: 6, makeupDb: 4 },
      { thresholdDb: -24, ratio: Infinity, attackMs: 2, releaseMs: 100 },
    ];
    const peakDb = -6;
    const x = sine(2, peakDb);
    for (const settings of settingsList) {
      const y = compress({ left: x, right: x }, settings);
      // settled: measure the gain over the last second as an RMS ratio
      let inPower = 0;
      let outPower = 0;
      for (let i = FS; i < x.length; i++) {
        inPower += x[i] * x[i];
        outPower += y.left[i] * y.left[i];
      }
      const gainDb = 10 * Math.log10(outPower / inPower);
      assertClose(
        gainDb,
        compressorGainDb(peakDb, settings),
        0.1,
        `settled gain for ${JSON.stringify(settings)}`,
      );
      assert.deepEqual(y.right, y.left, 'identical channels get identical output');
    }
  });

  it('moves 1 − 1/e of a level step in one attack time constant (α = e^{−1/(τ·fs)})', () => {
    // DC steps keep the detector free of ripple: the gain reduction then is exactly D·(1 − α^k) k samples on
    // (a decoupled detector's release stage passes a rising step unchanged).
    const settings: CompressorSettings = { thresholdDb: -30, ratio: 4, attackMs: 10, releaseMs: 100 };
    const tau = (10 / 1000) * FS; // 441 samples
    const quiet = 10 ** (-40 / 20); // below threshold: no reduction
    const loud = 10 ** (-10 / 20); // 20 dB over: 15 dB reduction once settled
    const step = 1000;
    const gain = gainTrace([...constant(quiet, step), ...constant(loud, 20 * tau)], settings);
    const change = compressorGainDb(-10, settings); // −15 dB
    assertClose(gain[step - 1], 0, 0, 'no gain change before the step');
    assertClose(gain[step + tau - 1] / change, 1 - Math.exp(-1), 1e-5, 'fraction of the change after τ');
    for (const k of [1, 50, 2 * tau, 5 * tau]) {
      assertClose(gain[step + k - 1] / change, 1 - Math.exp(-k / tau), 1e-5, `fraction after ${k} samples`);
    }
    assertClose(gain[gain.length - 1], change, 1e-6, 'settled gain');
  });

  it('releases with the release time constant (attack 0 ms makes the release exactly one-pole)', () => {
    const settings: CompressorSettings = { thresholdDb: -30, ratio: 4, attackMs: 0, releaseMs: 20 };
    const tau = (20 / 1000) * FS; // 882 samples
    const loud = 10 ** (-10 / 20);
    const quiet = 10 ** (-40 / 20);
    const step = 2000;
    const gain = gainTrace([...constant(loud, step), ...constant(quiet, 10 * tau)], settings);
    const change = compressorGainDb(-10, settings);
    assertClose(gain[step - 1], change, 1e-6, 'full reduction before the drop');
    assertClose(gain[step + tau - 1] / change, Math.exp(-1), 1e-5, 'fraction still applied after τ');
  });

  it('leaves a signal that never reaches the threshold bit for bit unchanged', () => {
    const left = sine(1, -21, 440);
    const right = sine(1, -30, 3000, 1);
    const settings: CompressorSettings = { thresholdDb: -20, ratio: 8, attackMs: 1 };
    const out = compress({ left, right }, settings);
    assert.deepEqual(out.left, left, 'left unchanged');
    assert.deepEqual(out.right, right, 'right unchanged');
    assert.notEqual(out.left, left, 'a new array is returned');
  });

  it('changes nothing at ratio 1', () => {
    const audio: Stereo = { left: sine(0.5, 0, 100), right: sine(0.5, -3, 5000) };
    const out = compress(audio, { thresholdDb: -40, ratio: 1, kneeDb: 12 });
    assert.deepEqual(out.left, audio.left, 'left unchanged');
    assert.deepEqual(out.right, audio.right, 'right unchanged');
  });

  it('links the channels: the louder channel sets the gain for both', () => {
    const loud = sine(1, -6);
    const quiet = sine(1, -40, 700);
    const settings: CompressorSettings = { thresholdDb: -20, ratio: 4 };
    const linked = compress({ left: loud, right: quiet }, settings);
    const alone = compress({ left: loud, right: loud }, settings);
    assert.deepEqual(linked.left, alone.left, 'loud channel as if alone');
    let checked = 0;
    for (let i = FS / 2; i < FS; i++) {
      // compare the gains where both samples are far from a zero crossing (float32 rounding stays ~1e-7)
      if (Math.abs(loud[i]) < 0.1 || Math.abs(quiet[i]) < 0.003) continue;
      assertClose(
        linked.right[i] / quiet[i],
        linked.left[i] / loud[i],
        1e-5,
        `gain of both channels at ${i}`,
      );
      checked++;
    }
    assert.ok(checked > 1000, `only ${checked} samples compared`);
  });
});
