/**
 * The scipy/numpy golden file of the DSP steps (tests/fixtures/golden/dsp.json, made by
 * tests/reference/dsp_reference.py) and the seeded inputs it was computed on, bit for bit.
 */
import { readFileSync } from 'node:fs';

import type { Stereo } from '../../src/pipeline/audio/stereo.js';

export type Run = [start: number, end: number, kind: 'keep' | 'zero' | 'scaled'];

export interface Golden {
  mulberry32Check: { seed: number; first: number[] };
  polyphaseFilter54: number[];
  resample: { seed: number; n: number; up54: number[]; down45: number[] }[];
  crossover: {
    cutoffHz: number;
    lowpass: { b: number[]; a: number[]; zi: number[] };
    highpass: { b: number[]; a: number[]; zi: number[] };
    seed: number;
    n: number;
    filtfiltLow: number[];
    filtfiltHigh: number[];
  };
  normalize: { n: number; seedLeft: number; seedRight: number; left: number[]; right: number[] };
  silent: {
    length: number;
    seedLeft: number;
    seedRight: number;
    envelope: [start: number, end: number, amplitude: number][];
    thresholdDb: number;
    levelsDb: number[];
    runsLeft: Run[];
    runsRight: Run[];
    sumLeft: number;
    sumRight: number;
    sumSquaresLeft: number;
    sumSquaresRight: number;
  };
}

export const dspGolden = JSON.parse(
  readFileSync(new URL('../fixtures/golden/dsp.json', import.meta.url), 'utf8'),
) as Golden;

/** mulberry32, bit for bit the generator of dsp_reference.py. */
export function mulberry32(seed: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let a = seed | 0;
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) >>> 0;
  }
  return out;
}

/** Uniform noise in [−1, 1): (u >> 8)/2^23 − 1, exact in float32, as in dsp_reference.py. */
export function noise(seed: number, count: number): Float32Array {
  const u = mulberry32(seed, count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (u[i] >>> 8) / 2 ** 23 - 1;
  return out;
}

export function gatedNoise(): Stereo {
  const g = dspGolden.silent;
  const left = noise(g.seedLeft, g.length);
  const right = noise(g.seedRight, g.length);
  for (const [start, end, amplitude] of g.envelope) {
    for (let i = start; i < end; i++) {
      left[i] *= amplitude; // float32 · float32, rounded to float32 as in numpy
      right[i] *= amplitude;
    }
  }
  return { left, right };
}

export function runs(before: Float32Array, after: Float32Array): Run[] {
  const kind = (i: number): Run[2] => (after[i] === before[i] ? 'keep' : after[i] === 0 ? 'zero' : 'scaled');
  const out: Run[] = [];
  let start = 0;
  for (let i = 1; i <= before.length; i++) {
    if (i === before.length || kind(i) !== kind(start)) {
      out.push([start, i, kind(start)]);
      start = i;
    }
  }
  return out;
}
