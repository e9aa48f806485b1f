/**
 * The test-only reference of spec §A (tests/reference/recipeReference.ts) is itself checked against scipy/numpy
 * output and the spec's invariants, so that the end-to-end parity test compares the product with something
 * trustworthy rather than with a copy of itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  referenceFiltfilt,
  referenceNormalize,
  referenceRecipe,
  referenceSilent,
} from '../reference/recipeReference.js';
import { dspGolden, gatedNoise, noise, runs } from '../support/dspGolden.js';
import { testSong } from '../support/signals.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('reference recipe building blocks vs scipy / KaraFan goldens', () => {
  it('normalize equals KaraFan Normalize', () => {
    const g = dspGolden.normalize;
    const out = referenceNormalize(
      noise(g.seedLeft, g.n),
      noise(g.seedRight, g.n).map((v) => v * 0.5 + 0.25),
    );
    assert.ok(maxAbsDiff(out.left, g.left) < 1e-6, 'left');
    assert.ok(maxAbsDiff(out.right, g.right) < 1e-6, 'right');
  });

  it('Silent (v1.3) gates the gated-noise envelope like the literal Python port', () => {
    const g = dspGolden.silent;
    const audio = gatedNoise();
    const out = referenceSilent(
      { left: Float64Array.from(audio.left), right: Float64Array.from(audio.right) },
      g.thresholdDb,
    );
    assert.deepEqual(runs(audio.left, Float32Array.from(out.left)), g.runsLeft);
    assert.deepEqual(runs(audio.right, Float32Array.from(out.right)), g.runsRight);
  });

  it('filtfilt with the closed-form 14 kHz Butterworth equals scipy filtfilt', () => {
    const g = dspGolden.crossover;
    const x = Float64Array.from(noise(g.seed, g.n));
    const lp = { b: g.lowpass.b as [number, number, number], a: g.lowpass.a as [number, number, number] };
    const hp = { b: g.highpass.b as [number, number, number], a: g.highpass.a as [number, number, number] };
    assert.ok(maxAbsDiff(referenceFiltfilt(lp, x), g.filtfiltLow) < 1e-12, 'LP');
    assert.ok(maxAbsDiff(referenceFiltfilt(hp, x), g.filtfiltHigh) < 1e-12, 'HP');
  });
});

describe('reference recipe invariants (spec §A.2)', () => {
  it('with identity models: m = comp·x, vocals + music = x where ungated, bleed = music − m', async () => {
    // the identity keeps every bin but Nyquist (spec §B.5), which testSong leaves empty by design
    const geometry = { nFft: 2048, dimF: 1024, dimT: 8 };
    const model = async (tensor: Float32Array) => tensor.slice();
    const song = testSong(3 * 44100, 4);
    const files = await referenceRecipe(
      song.left,
      song.right,
      { model, geometry, compensate: 1.024 },
      { model, geometry, compensate: 1.0085 },
      { musicShifts: 2, vocalShifts: 2, srsShifts: 1, srs: false, denoise: true, chunkSize: 500000 },
    );
    const x = files['1'];
    assert.ok(
      maxAbsDiff(
        files['2'].left,
        x.left.map((v) => v * 1.024),
      ) < 1e-4,
      'm = comp·x',
    );
    let worst = 0;
    for (const ch of ['left', 'right'] as const) {
      for (let i = 0; i < x[ch].length; i++) {
        if (files['5_F'][ch][i] === 0) continue; // the −61 dB gate acted here
        worst = Math.max(worst, Math.abs(files['4_F'][ch][i] + files['5_F'][ch][i] - x[ch][i]));
      }
    }
    assert.ok(worst < 1e-12, `vocals + music − x = ${worst}`);
    assert.ok(
      maxAbsDiff(
        files['6'].left,
        files['5_F'].left.map((v, i) => v - files['2'].left[i]),
      ) === 0,
      'bleed = music − m',
    );
  });
});
