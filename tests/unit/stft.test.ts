import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRealFft, isSupportedFftSize } from '../../src/pipeline/dsp/fft.js';
import { MdxStft, periodicHann } from '../../src/pipeline/dsp/stft.js';
import { segmentPlan } from '../../src/pipeline/mdx/geometry.js';

function noise(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number {
  let worst = 0;
  for (let i = from; i < to; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('real FFT (PFFFT) at the MDX sizes', () => {
  for (const n of [5120, 6144, 7680]) {
    it(`matches a direct DFT at n = ${n}`, async () => {
      const fft = await createRealFft(n);
      const x = noise(n, n);
      const spectrum = new Float32Array(n);
      fft.forward(x, spectrum);
      for (const k of [0, 1, 7, n / 4 + 3, n / 2 - 1, n / 2]) {
        let re = 0;
        let im = 0;
        for (let i = 0; i < n; i++) {
          const phase = (2 * Math.PI * k * i) / n;
          re += x[i] * Math.cos(phase);
          im -= x[i] * Math.sin(phase);
        }
        const got =
          k === 0
            ? [spectrum[0], 0]
            : k === n / 2
              ? [spectrum[1], 0]
              : [spectrum[2 * k], spectrum[2 * k + 1]];
        assert.ok(
          Math.abs(got[0] - re) < 2e-3 && Math.abs(got[1] - im) < 2e-3,
          `bin ${k}: ${got} vs ${re},${im}`,
        );
      }
      const back = new Float32Array(n);
      fft.inverse(spectrum, back);
      assert.ok(
        maxAbsDiff(
          back.map((v) => v / n),
          x,
        ) < 1e-5,
      );
    });
  }

  it('refuses sizes PFFFT cannot do, and accepts every MDX size', () => {
    assert.equal(isSupportedFftSize(7680) && isSupportedFftSize(6144) && isSupportedFftSize(5120), true);
    assert.equal(isSupportedFftSize(7000), false); // 7000 = 2^3·5^3·7
    assert.equal(isSupportedFftSize(48), false); // a < 5
  });
});

describe('MDX STFT / iSTFT (torch semantics, spec §B.2, §B.5)', () => {
  it('periodic Hann: w[0] = 0, w[n/2] = 1, symmetric about n/2', () => {
    const w = periodicHann(8);
    assert.deepEqual(
      Array.from(w, (v) => Number(v.toFixed(6))),
      [0, 0.146447, 0.5, 0.853553, 1, 0.853553, 0.5, 0.146447],
    );
  });

  it('a sine at bin k has |X[k]| = A·n/4 in every interior frame and the layout puts time fastest', async () => {
    const geometry = { nFft: 6144, dimF: 3072, dimT: 16 };
    const stft = new MdxStft(await createRealFft(geometry.nFft), geometry);
    const { segmentLength } = segmentPlan(geometry);
    const k = 100;
    const amplitude = 0.5;
    const left = new Float32Array(segmentLength).map(
      (_, i) => amplitude * Math.cos((2 * Math.PI * k * i) / 6144),
    );
    const right = new Float32Array(segmentLength); // silent right channel
    const tensor = new Float32Array(stft.tensorStride);
    stft.analyze(left, tensor, 0, 0);
    stft.analyze(right, tensor, 0, 1);
    const plane = geometry.dimF * geometry.dimT;
    for (let t = 4; t < 12; t++) {
      const re = tensor[k * geometry.dimT + t];
      const im = tensor[plane + k * geometry.dimT + t];
      assert.ok(
        Math.abs(Math.hypot(re, im) - (amplitude * 6144) / 4) < 0.05,
        `frame ${t}: ${Math.hypot(re, im)}`,
      );
      assert.ok(Math.abs(tensor[2 * plane + k * geometry.dimT + t]) < 1e-6, 'right channel stays silent');
    }
  });

  it('reflect padding: frame 0 of a ramp sees x[n/2 − j] on the left (the mirror excludes the edge sample)', async () => {
    // With reflect padding, frame 0 is even-symmetric around sample 0 of the signal, so a ramp x[i] = i gives a
    // windowed |i − n/2| shape whose DC equals Σ w[i]·|i − n/2|. Zero padding would give a different sum.
    const geometry = { nFft: 2048, dimF: 1025, dimT: 8 };
    const stft = new MdxStft(await createRealFft(2048), geometry);
    const ramp = new Float32Array(segmentPlan(geometry).segmentLength).map((_, i) => i);
    const tensor = new Float32Array(stft.tensorStride);
    stft.analyze(ramp, tensor, 0, 0);
    const w = periodicHann(2048);
    let expected = 0;
    for (let i = 0; i < 2048; i++) expected += w[i] * Math.abs(i - 1024);
    assert.ok(Math.abs(tensor[0] - expected) / expected < 1e-5, `${tensor[0]} vs ${expected}`);
  });

  for (const geometry of [
    { nFft: 7680, dimF: 3841, dimT: 32 },
    { nFft: 6144, dimF: 3073, dimT: 256 },
    { nFft: 5120, dimF: 2561, dimT: 20 },
  ]) {
    it(`round trip is exact with every bin kept (n_fft ${geometry.nFft}, dim_t ${geometry.dimT})`, async () => {
      const stft = new MdxStft(await createRealFft(geometry.nFft), geometry);
      const { segmentLength } = segmentPlan(geometry);
      const x = noise(segmentLength, 7);
      const tensor = new Float32Array(stft.tensorStride);
      stft.analyze(x, tensor, 0, 1);
      const y = new Float32Array(segmentLength);
      stft.synthesize(tensor, 0, 1, y);
      assert.ok(maxAbsDiff(x, y) < 1e-5, `max error ${maxAbsDiff(x, y)}`);
    });
  }

  it('dim_f = n_fft/2 drops only the Nyquist bin: a signal without Nyquist content comes back exactly', async () => {
    const geometry = { nFft: 6144, dimF: 3072, dimT: 32 };
    const stft = new MdxStft(await createRealFft(geometry.nFft), geometry);
    const { segmentLength } = segmentPlan(geometry);
    const x = new Float32Array(segmentLength).map(
      (_, i) => 0.3 * Math.sin(i * 0.05) + 0.2 * Math.sin(i * 1.7 + 1),
    );
    const tensor = new Float32Array(stft.tensorStride);
    stft.analyze(x, tensor, 0, 0);
    const y = new Float32Array(segmentLength);
    stft.synthesize(tensor, 0, 0, y);
    // Exact in the interior; at the segment ends the reflect padding makes a kink whose Nyquist content is lost.
    assert.ok(maxAbsDiff(x, y, 6144, segmentLength - 6144) < 1e-6);
    assert.ok(maxAbsDiff(x, y) < 1e-4);
  });

  it('bins ≥ dim_f are zeroed: a tone above the band edge vanishes, one below stays', async () => {
    const geometry = { nFft: 7680, dimF: 3072, dimT: 32 }; // band edge 17640 Hz
    const stft = new MdxStft(await createRealFft(geometry.nFft), geometry);
    const { segmentLength } = segmentPlan(geometry);
    const tone = (hz: number) =>
      new Float32Array(segmentLength).map((_, i) => Math.sin((2 * Math.PI * hz * i) / 44100));
    const tensor = new Float32Array(stft.tensorStride);
    const y = new Float32Array(segmentLength);
    const rms = (a: Float32Array, from: number, to: number) => {
      let sum = 0;
      for (let i = from; i < to; i++) sum += a[i] * a[i];
      return Math.sqrt(sum / (to - from));
    };
    const interior: [number, number] = [7680, segmentLength - 7680];
    stft.analyze(tone(19000), tensor, 0, 0);
    stft.synthesize(tensor, 0, 0, y);
    assert.ok(rms(y, ...interior) < 1e-3, `19 kHz should be gone, rms ${rms(y, ...interior)}`);
    const low = tone(5000);
    stft.analyze(low, tensor, 0, 0);
    stft.synthesize(tensor, 0, 0, y);
    assert.ok(maxAbsDiff(low, y, ...interior) < 1e-4);
  });

  it('ignores the imaginary part of the DC bin (as irfft does)', async () => {
    const geometry = { nFft: 2048, dimF: 1025, dimT: 8 };
    const stft = new MdxStft(await createRealFft(2048), geometry);
    const { segmentLength } = segmentPlan(geometry);
    const x = noise(segmentLength, 3);
    const tensor = new Float32Array(stft.tensorStride);
    stft.analyze(x, tensor, 0, 0);
    const plain = new Float32Array(segmentLength);
    stft.synthesize(tensor, 0, 0, plain);
    const plane = geometry.dimF * geometry.dimT;
    for (let t = 0; t < geometry.dimT; t++) tensor[plane + t] = 5; // imag(DC) of the left channel
    const poked = new Float32Array(segmentLength);
    stft.synthesize(tensor, 0, 0, poked);
    assert.equal(maxAbsDiff(plain, poked), 0);
  });
});
