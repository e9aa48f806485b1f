import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocStereo } from '../../src/pipeline/audio/stereo.js';
import { createRealFft } from '../../src/pipeline/dsp/fft.js';
import { MdxStft } from '../../src/pipeline/dsp/stft.js';
import { countModelRuns, demix, effectiveShifts, segmentsInChunk } from '../../src/pipeline/mdx/demix.js';
import { type MdxGeometry, segmentPlan } from '../../src/pipeline/mdx/geometry.js';
import type { ModelRunner } from '../../src/pipeline/mdx/modelRunner.js';

/** A model that returns its input and records each batch it sees. */
function recordingIdentity(geometry: MdxGeometry): ModelRunner & { calls: number } {
  const runner = {
    geometry,
    calls: 0,
    async run(tensor: Float32Array) {
      runner.calls++;
      return tensor.slice();
    },
  };
  return runner;
}

describe('segmentation and shifts (spec §B.3, §B.4, §F.5, §F.7)', () => {
  // gen = 1024·15 − 2048 = 13312
  const geometry = { nFft: 2048, dimF: 1025, dimT: 16 };
  const { gen } = segmentPlan(geometry);

  it('gen = L_seg − n_fft for the real geometries', () => {
    assert.equal(segmentPlan({ nFft: 7680, dimF: 3072, dimT: 256 }).gen, 253440);
    assert.equal(segmentPlan({ nFft: 6144, dimF: 3072, dimT: 256 }).gen, 254976);
    assert.equal(segmentPlan({ nFft: 5120, dimF: 2560, dimT: 256 }).gen, 256000);
  });

  it('a chunk whose length is a multiple of gen gets a whole extra (dummy) segment', () => {
    assert.equal(segmentsInChunk(3 * gen, gen), 4);
    assert.equal(segmentsInChunk(3 * gen + 1, gen), 4);
    assert.equal(segmentsInChunk(3 * gen - 1, gen), 3);
    assert.equal(segmentsInChunk(1, gen), 1, 'shorter than one window: one segment');
    // spec §B.7: a full 500000-sample chunk is 2 runs at 7680 (500000 = 1·253440 + 246560)
    assert.equal(segmentsInChunk(500000, 253440), 2);
  });

  it('spec §B.7: a 240 s song is 43 segments per pass at n_fft 7680', () => {
    const runs = countModelRuns(240 * 44100, 253440, { shifts: 1, denoise: false, chunkSize: 500000 });
    assert.equal(runs, 43);
  });

  it('shift clamp: floor(n/44100 − 1) when S exceeds the whole seconds, and never below 1', () => {
    assert.equal(effectiveShifts(12, 240 * 44100), 12);
    assert.equal(effectiveShifts(6, 5 * 44100), 4, '6 > floor(5 s) = 5 → floor(5 − 1) = 4');
  });

  it('short audio keeps one unshifted pass', () => {
    assert.equal(effectiveShifts(3, 44100 + 5), 1, '1.0 s: 3 > 1 → floor(1.0001 − 1) = 0 → 1');
    assert.equal(effectiveShifts(3, 1000), 1, '0.02 s: clamp gives −1 → 1');
    assert.equal(effectiveShifts(0, 10 * 44100), 1, 'S ← max(S, 1)');
    assert.equal(effectiveShifts(2, 2 * 44100), 2, 'S = floor(n/44100) is kept');
    assert.equal(effectiveShifts(3, 2 * 44100), 1, '3 > 2 → floor(2 − 1) = 1');
  });

  for (const [label, length, chunkSize, shifts, denoise] of [
    ['length a multiple of gen', 4 * 13312, 500000, 1, false],
    ['shorter than one window', 5000, 500000, 1, true],
    ['shorter than 2 s with 3 shifts', 50000, 500000, 3, true],
    ['several chunks, 2 shifts', 3 * 44100, 40000, 2, false],
  ] as const) {
    it(`model runs match the plan and identity gives the input back: ${label}`, async () => {
      const runner = recordingIdentity(geometry);
      const stft = new MdxStft(await createRealFft(geometry.nFft), geometry);
      const audio = allocStereo(length);
      for (let i = 0; i < length; i++) {
        audio.left[i] = Math.sin(i * 0.01) * 0.5;
        audio.right[i] = Math.cos(i * 0.013) * 0.5;
      }
      const options = { shifts, denoise, chunkSize };
      const out = await demix(audio, runner, stft, options);
      const expected = countModelRuns(length, gen, options);
      assert.equal(runner.calls, expected, `runs ${runner.calls} vs plan ${expected}`);
      assert.equal(out.left.length, length, 'same length as the input');
      let worst = 0;
      for (let i = 0; i < length; i++) {
        worst = Math.max(
          worst,
          Math.abs(out.left[i] - audio.left[i]),
          Math.abs(out.right[i] - audio.right[i]),
        );
      }
      // all bins kept (dim_f = n_fft/2 + 1): every segment, chunk and shift reconstructs exactly
      assert.ok(worst < 1e-5, `identity error ${worst}`);
    });
  }

  it('the length-multiple-of-gen case makes one run more than the segments it keeps', async () => {
    const runner = recordingIdentity(geometry);
    const stft = new MdxStft(await createRealFft(geometry.nFft), geometry);
    await demix(allocStereo(2 * gen), runner, stft, { shifts: 1, denoise: false, chunkSize: 500000 });
    assert.equal(runner.calls, 3, '2 kept segments + the dummy one');
  });
});
