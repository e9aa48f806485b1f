/**
 * Masking-reduction EQ planning (src/pipeline/mixer/maskingEq.ts) on constructed signals whose band levels are
 * known by construction: sums of random-phase sinusoids on FFT bins inside each octave band, with a chosen mean
 * square per band. The planner must read those levels back and make exactly the decisions the rules imply.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { biquadGainDb } from '../../src/pipeline/dsp/biquad.js';
import { createRealFft } from '../../src/pipeline/dsp/fft.js';
import { seededRandom } from '../../src/fixtures/seededRandom.js';
import {
  applyMaskingEq,
  MASKING_EQ_BAND_CENTERS_HZ,
  MASKING_EQ_MAX_GAIN_DB,
  type MaskingEqPlan,
  maskingEqFilters,
  planMaskingEq,
} from '../../src/pipeline/mixer/maskingEq.js';

const SR = 44100;
const N = 2 ** 19; // 11.9 s
const BANDS = MASKING_EQ_BAND_CENTERS_HZ; // 62.5 … 16000 Hz

/**
 * Noise with mean square 10^(dB/10) in each octave band given a level (undefined: nothing in that band): equal
 * amplitudes A on the FFT bins between centre·2^(−0.35) and centre·2^(+0.35) (inside the band, away from its
 * edges), random phases; Σ A²/2 = the band's mean square. Periodic over N samples; independent per channel.
 */
async function bandNoise(levelsDb: (number | undefined)[], seed: number): Promise<Stereo> {
  const fft = await createRealFft(N);
  const random = seededRandom(seed);
  const channel = (): Float32Array => {
    const spectrum = new Float32Array(N);
    levelsDb.forEach((db, b) => {
      if (db === undefined) return;
      const from = Math.ceil((BANDS[b] * 2 ** -0.35 * N) / SR);
      const to = Math.min(N / 2 - 1, Math.floor((BANDS[b] * 2 ** 0.35 * N) / SR));
      const amplitude = Math.sqrt((2 * 10 ** (db / 10)) / (to - from + 1));
      for (let k = from; k <= to; k++) {
        const phase = 2 * Math.PI * random.next();
        // inverse() returns Σ_k 2·Re(S_k e^{j2πkn/N}) for 0 < k < N/2, so S_k = (A/2)·e^{jφ} gives A·cos(…)
        spectrum[2 * k] = (amplitude / 2) * Math.cos(phase);
        spectrum[2 * k + 1] = (amplitude / 2) * Math.sin(phase);
      }
    });
    const x = new Float32Array(N);
    fft.inverse(spectrum, x);
    return x;
  };
  return { left: channel(), right: channel() };
}

/** Levels for all bands: `base` everywhere, `overrides` by centre frequency. */
function levels(
  base: number | undefined,
  overrides: Record<number, number | undefined> = {},
): (number | undefined)[] {
  return BANDS.map((hz) => (hz in overrides ? overrides[hz] : base));
}

/**
 * Constructed absolute levels → levels relative to the mean band power, as the plan reports them (a band with
 * nothing in it counts as no power).
 */
function relative(levelsDb: (number | undefined)[]): number[] {
  const powers = levelsDb.map((l) => (l === undefined ? 0 : 10 ** (l / 10)));
  const mean = 10 * Math.log10(powers.reduce((a, b) => a + b, 0) / powers.length);
  return levelsDb.map((l) => (l === undefined ? -Infinity : l - mean));
}

/** V[b] − B[b] of the constructed levels at band centre `hz`. */
function difference(vocal: (number | undefined)[], backing: (number | undefined)[], hz: number): number {
  const b = BANDS.indexOf(hz);
  return relative(vocal)[b] - relative(backing)[b];
}

function bandOf(plan: MaskingEqPlan, hz: number) {
  const band = plan.bands.find((b) => b.centerHz === hz);
  assert.ok(band, `no band at ${hz} Hz`);
  return band;
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

/**
 * Splice `gapSeconds` of `filler` (from its start) into `audio` at each of `at` (seconds), the vocal fading out
 * and back in over 30 ms at each splice (a step would be a click, broadband, unlike a singer stopping).
 */
function withGaps(audio: Stereo, at: number[], gapSeconds: number, filler: Stereo): Stereo {
  const gap = Math.round(gapSeconds * SR);
  const fade = Math.round(0.03 * SR);
  const ramp = (i: number) => 0.5 - 0.5 * Math.cos((Math.PI * Math.min(i, fade)) / fade);
  const splice = (x: Float32Array, fill: Float32Array): Float32Array => {
    const out = new Float32Array(x.length + gap * at.length);
    const cuts = at.map((seconds) => Math.round(seconds * SR));
    let [read, write] = [0, 0];
    for (const cut of [...cuts, x.length]) {
      for (let i = read; i < cut; i++) out[write + i - read] = x[i] * ramp(i - read) * ramp(cut - 1 - i);
      write += cut - read;
      read = cut;
      if (write < out.length) {
        out.set(fill.subarray(0, gap), write);
        write += gap;
      }
    }
    return out;
  };
  return { left: splice(audio.left, filler.left), right: splice(audio.right, filler.right) };
}

describe('planMaskingEq', () => {
  it('reads the constructed band levels back, relative to each track’s mean, whatever the gains', async () => {
    const [vocalLevels, backingLevels] = [levels(-32, { 1000: -14 }), levels(-30, { 1000: -20 })];
    const vocal = await bandNoise(vocalLevels, 1);
    const backing = await bandNoise(backingLevels, 2);
    const plan = await planMaskingEq(vocal, backing, SR);
    assert.deepEqual(
      plan.bands.map((b) => b.centerHz),
      BANDS,
      'one band per octave centre',
    );
    const [v, k] = [relative(vocalLevels), relative(backingLevels)];
    plan.bands.forEach((band, b) => {
      assertClose(band.vocalDb, v[b], 0.2, `vocal level at ${band.centerHz} Hz`);
      assertClose(band.backingDb, k[b], 0.2, `backing level at ${band.centerHz} Hz`);
    });
    const quieter = { left: vocal.left.map((x) => x * 0.1), right: vocal.right.map((x) => x * 0.1) };
    const replanned = await planMaskingEq(quieter, backing, SR);
    plan.bands.forEach((band, b) => {
      assertClose(
        replanned.bands[b].vocalDb,
        band.vocalDb,
        0.01,
        `−20 dB vocal, level at ${band.centerHz} Hz`,
      );
    });
  });

  it('cuts the vocal where it masks the backing’s essential band, and nowhere else', async () => {
    // relative to their mean band powers: the backing's essential band 1 kHz at +4.8 dB (its other bands at
    // −1.2 dB); the vocal, nearly all at 1 kHz, +9.5 dB there: 4.7 dB over the backing
    const [vocalLevels, backingLevels] = [levels(-40, { 1000: -14 }), levels(-20, { 1000: -14 })];
    const plan = await planMaskingEq(await bandNoise(vocalLevels, 1), await bandNoise(backingLevels, 2), SR);
    assert.deepEqual(plan.essentialBackingBands, [1000], 'essential backing bands');
    assert.deepEqual(plan.vocalTopBands, [1000], 'vocal top bands');
    assert.equal(plan.decisions.length, 1, `decisions: ${JSON.stringify(plan.decisions)}`);
    const [cut] = plan.decisions;
    assert.equal(cut.centerHz, 1000, 'cut centre');
    const masking = difference(vocalLevels, backingLevels, 1000);
    assertClose(masking, 4.7, 0.01, 'the constructed masking amount');
    assertClose(cut.gainDb, -masking, 0.2, 'cut gain = the masking amount');
    assertClose(cut.q, Math.SQRT2, 1e-12, 'one-octave Q');
    assert.match(cut.reason, /^cut: the vocal masks the backing's essential band \(1 kHz: vocal \+4\.\d dB/);
  });

  it('boosts the vocal’s strongest band where the backing drowns it', async () => {
    // relative: the vocal's one top band 2 kHz at +4.8 dB; the backing, nearly all at 2 kHz, +9.5 dB there
    const [vocalLevels, backingLevels] = [levels(-26, { 2000: -20 }), levels(-40, { 2000: -10 })];
    const plan = await planMaskingEq(await bandNoise(vocalLevels, 3), await bandNoise(backingLevels, 4), SR);
    assert.deepEqual(plan.vocalTopBands, [2000], 'vocal top bands');
    assert.equal(plan.decisions.length, 1, `decisions: ${JSON.stringify(plan.decisions)}`);
    const [boost] = plan.decisions;
    assert.equal(boost.centerHz, 2000, 'boost centre');
    const masking = -difference(vocalLevels, backingLevels, 2000);
    assertClose(masking, 4.75, 0.01, 'the constructed masking amount');
    assertClose(boost.gainDb, masking, 0.2, 'boost gain = the masking amount');
    assert.match(
      boost.reason,
      /^boost: the backing masks one of the vocal's top bands \(2 kHz: backing \+4\.\d dB/,
    );
  });

  it(`caps the gain at ±${MASKING_EQ_MAX_GAIN_DB} dB`, async () => {
    // the vocal all at 500 Hz (+9.5 dB relative); the backing flat but for a slightly stronger 500 Hz (+0.4 dB)
    const [vocalLevels, backingLevels] = [levels(-60, { 500: -6 }), levels(-20, { 500: -19.5 })];
    const plan = await planMaskingEq(await bandNoise(vocalLevels, 5), await bandNoise(backingLevels, 6), SR);
    assert.deepEqual(plan.essentialBackingBands, [500], 'the backing’s only band above its mean');
    assert.equal(plan.decisions.length, 1, `decisions: ${JSON.stringify(plan.decisions)}`);
    const masking = difference(vocalLevels, backingLevels, 500);
    assert.ok(masking > 9, `constructed masking ${masking} dB`);
    assert.equal(plan.decisions[0].gainDb, -MASKING_EQ_MAX_GAIN_DB, `a ${masking} dB excess is cut by 6 dB`);
  });

  it('decides nothing for tracks in disjoint bands', async () => {
    const vocal = await bandNoise(levels(undefined, { 250: -20, 500: -18, 1000: -20, 2000: -24 }), 7);
    const backing = await bandNoise(
      levels(undefined, { 62.5: -15, 125: -18, 4000: -25, 8000: -28, 16000: -35 }),
      8,
    );
    const plan = await planMaskingEq(vocal, backing, SR);
    // above the mean band power: the vocal's 250 Hz–1 kHz (+3.5, +5.5, +3.5 dB), the backing's 63 and 125 Hz
    assert.deepEqual(plan.vocalTopBands, [250, 500, 1000], 'the vocal’s top bands');
    assert.deepEqual(plan.essentialBackingBands, [62.5, 125], 'the backing’s essential bands');
    assert.deepEqual(plan.decisions, [], 'no masking, no EQ');
  });

  it('ignores silent stretches in the vocal (the gate)', async () => {
    // a vocal with little under 88 Hz; its pauses are digital silence, or −42 dB of bass bleed (as a separated
    // vocal has), 28 dB under its loud frames: the gate drops them. Ungated, the bleed lifts the vocal's relative
    // 63 Hz level by 6.1 dB (measured with the gate off). Gated, only the frames straddling a pause's edges let a
    // little bleed in: under 1 dB at 63 Hz, 0.2 dB elsewhere.
    const vocal = await bandNoise(levels(-40, { 62.5: -50, 1000: -14 }), 1);
    const backing = await bandNoise(levels(-20, { 1000: -14 }), 2);
    const bleed = await bandNoise(levels(undefined, { 62.5: -42 }), 10);
    const silence = { left: new Float32Array(N), right: new Float32Array(N) };
    const plain = await planMaskingEq(vocal, backing, SR);
    assert.equal(plain.decisions.length, 1, 'the plain vocal gets its cut');
    for (const [what, filler] of [
      ['silence', silence],
      ['bleed', bleed],
    ] as const) {
      const gated = await planMaskingEq(withGaps(vocal, [3, 6, 9], 1.5, filler), backing, SR);
      for (const hz of BANDS) {
        const tolerance = what === 'bleed' && hz === 62.5 ? 1 : 0.2;
        const [a, b] = [bandOf(gated, hz).vocalDb, bandOf(plain, hz).vocalDb];
        assertClose(a, b, tolerance, `${what}: vocal level at ${hz} Hz`);
      }
      assert.deepEqual(
        gated.decisions.map((d) => d.centerHz),
        plain.decisions.map((d) => d.centerHz),
        `${what}: same bands decided`,
      );
      assertClose(gated.decisions[0].gainDb, plain.decisions[0].gainDb, 0.1, `${what}: same cut`);
    }
  });

  it('decides nothing when a track is silent', async () => {
    const silence = { left: new Float32Array(SR), right: new Float32Array(SR) };
    const backing = await bandNoise(levels(-30), 2);
    const plan = await planMaskingEq(silence, backing, SR);
    assert.deepEqual(plan.decisions, [], 'no decisions');
    assert.ok(
      plan.bands.every((b) => b.vocalDb === 0),
      'a silent track reads the −120 dB floor in every band: 0 dB relative',
    );
  });
});

describe('maskingEqFilters / applyMaskingEq', () => {
  it('gives peaks whose analytic gain at each centre is the decision’s gain', () => {
    const plan: MaskingEqPlan = {
      bands: [],
      essentialBackingBands: [],
      vocalTopBands: [],
      decisions: [
        { centerHz: 62.5, gainDb: 2.5, q: Math.SQRT2, reason: 'test' },
        { centerHz: 1000, gainDb: -4.1, q: Math.SQRT2, reason: 'test' },
        { centerHz: 16000, gainDb: -6, q: Math.SQRT2, reason: 'test' },
      ],
    };
    const filters = maskingEqFilters(plan, SR);
    assert.equal(filters.length, 3, 'one filter per decision');
    plan.decisions.forEach((d, i) => {
      assertClose(biquadGainDb(filters[i], d.centerHz, SR), d.gainDb, 1e-9, `gain at ${d.centerHz} Hz`);
      assertClose(biquadGainDb(filters[i], 1, SR), 0, 0.05, `a peak leaves DC alone (${d.centerHz} Hz)`);
    });
  });

  it('lowers the vocal’s masking band when applied, and little else', async () => {
    const vocal = await bandNoise(levels(-40, { 1000: -14 }), 1);
    const backing = await bandNoise(levels(-20, { 1000: -14 }), 2);
    const plan = await planMaskingEq(vocal, backing, SR);
    const [filter] = maskingEqFilters(plan, SR);
    assertClose(biquadGainDb(filter, 1000, SR), plan.decisions[0].gainDb, 1e-9, 'the planned cut at 1 kHz');
    const after = await planMaskingEq(applyMaskingEq(vocal, plan, SR), backing, SR);
    // relative levels: the cut also lowers the mean, so measure each band's drop against the 63 Hz band's
    const drop = (hz: number) =>
      bandOf(plan, hz).vocalDb -
      bandOf(after, hz).vocalDb -
      (bandOf(plan, 62.5).vocalDb - bandOf(after, 62.5).vocalDb);
    // the −4.7 dB peak, one octave wide, takes 3.5–4.7 dB off the band it is centred on (less at its edges)
    assert.ok(drop(1000) > 3.5 && drop(1000) < 4.7, `1 kHz band dropped ${drop(1000)} dB`);
    for (const hz of [125, 8000, 16000]) {
      assert.ok(Math.abs(drop(hz)) < 0.3, `${hz} Hz band moved ${drop(hz)} dB`);
    }
  });
});
