import { allocStereo, SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import type { MdxStft } from '../dsp/stft.js';
import { segmentPlan } from './geometry.js';
import type { ModelRunner } from './modelRunner.js';

/**
 * One MDX-Net pass over a whole signal: KaraFan v1.3 `demix_full` (chunks and circular shifts, spec §B.4) over
 * `demix_base` (segmentation of one chunk, spec §B.3), with the denoise pair of spec §B.6 folded in.
 *
 * Denoise is 0.5·(−F(−a)) + 0.5·F(a). STFT(−x) = −STFT(x) and the iSTFT, the chunk concatenation and the shift
 * average are all linear, so per segment we take one STFT, run the model on X and −X and invert
 * 0.5·(M(X) − M(−X)) once: the same result as two whole passes, at half the FFT cost.
 */
export interface DemixOptions {
  /** Requested big shifts (whole-second circular rotations); clamped by effectiveShifts. */
  readonly shifts: number;
  readonly denoise: boolean;
  /** spec §A.0: chunk_size = 500000 samples, no overlap between chunks. */
  readonly chunkSize: number;
  readonly onModelRun?: () => void;
}

export const DEFAULT_CHUNK_SIZE = 500_000;

/**
 * spec §B.4.1: S ← max(S, 1); if S > floor(n/44100) then S ← floor(n/44100 − 1).
 * That can reach 0 or below for audio shorter than about 2 s, where Python would average nothing: we keep 1.
 */
export function effectiveShifts(requested: number, length: number): number {
  let shifts = Math.max(Math.floor(requested), 1);
  const seconds = Math.floor(length / SAMPLE_RATE);
  if (shifts > seconds) shifts = Math.floor(length / SAMPLE_RATE - 1);
  return Math.max(shifts, 1);
}

/** spec §B.3: K = (N + pad)/gen with pad = gen − (N mod gen), a whole extra segment when N mod gen = 0. */
export function segmentsInChunk(chunkLength: number, gen: number): number {
  const pad = gen - (chunkLength % gen);
  return (chunkLength + pad) / gen;
}

/** Number of model runs (batch 1) a pass will make: for progress and cost estimates (spec §B.7). */
export function countModelRuns(length: number, gen: number, options: DemixOptions): number {
  let perShift = 0;
  for (let start = 0; start < length; start += options.chunkSize) {
    perShift += segmentsInChunk(Math.min(options.chunkSize, length - start), gen);
  }
  return effectiveShifts(options.shifts, length) * perShift * (options.denoise ? 2 : 1);
}

/** The raw model estimate of the primary stem (before compensation), same length as `audio`. */
export async function demix(
  audio: Stereo,
  runner: ModelRunner,
  stft: MdxStft,
  options: DemixOptions,
): Promise<Stereo> {
  const length = audio.left.length;
  const shifts = effectiveShifts(options.shifts, length);
  const sumLeft = new Float64Array(length);
  const sumRight = new Float64Array(length);
  const rotated = allocStereo(length);
  const pass = allocStereo(length);
  for (let s = 0; s < shifts; s++) {
    // spec §B.4.2 (v1.3): rotate by s whole seconds; shift 0 is the identity (spec §F.7).
    const shift = (s * SAMPLE_RATE) % length;
    rotate(audio.left, shift, rotated.left);
    rotate(audio.right, shift, rotated.right);
    for (let start = 0; start < length; start += options.chunkSize) {
      const end = Math.min(start + options.chunkSize, length);
      const chunk = { left: rotated.left.subarray(start, end), right: rotated.right.subarray(start, end) };
      const separated = await demixChunk(chunk, runner, stft, options);
      pass.left.set(separated.left, start);
      pass.right.set(separated.right, start);
    }
    // rotate back: sample i of the rotated signal came from i − shift
    for (let i = 0; i < length; i++) {
      const j = i + shift < length ? i + shift : i + shift - length;
      sumLeft[i] += pass.left[j];
      sumRight[i] += pass.right[j];
    }
  }
  const out = allocStereo(length);
  for (let i = 0; i < length; i++) {
    out.left[i] = sumLeft[i] / shifts;
    out.right[i] = sumRight[i] / shifts;
  }
  return out;
}

/** np.roll(x, shift): out[i] = x[(i − shift) mod n]. */
function rotate(x: Float32Array, shift: number, out: Float32Array): void {
  const n = x.length;
  out.set(x.subarray(n - shift), 0);
  out.set(x.subarray(0, n - shift), shift);
}

/**
 * spec §B.3 (`demix_base`): P = [trim zeros | chunk | pad zeros | trim zeros]; segment k = P[k·gen, k·gen + L_seg);
 * keep [trim, L_seg − trim) of each segment's iSTFT, concatenate, drop the last `pad` samples. No cross-fade.
 */
async function demixChunk(
  chunk: Stereo,
  runner: ModelRunner,
  stft: MdxStft,
  options: DemixOptions,
): Promise<Stereo> {
  const length = chunk.left.length;
  const { segmentLength, trim, gen } = segmentPlan(runner.geometry);
  const segments = segmentsInChunk(length, gen);
  const out = allocStereo(length);
  const segment = allocStereo(segmentLength);
  const separated = allocStereo(segmentLength);
  const tensor = new Float32Array(stft.tensorStride);
  for (let k = 0; k < segments; k++) {
    const first = k * gen - trim; // chunk index of the segment's first sample
    for (const [source, target] of [
      [chunk.left, segment.left],
      [chunk.right, segment.right],
    ] as const) {
      target.fill(0);
      const from = Math.max(first, 0);
      const to = Math.min(first + segmentLength, length);
      if (to > from) target.set(source.subarray(from, to), from - first);
    }
    stft.analyze(segment.left, tensor, 0, 0);
    stft.analyze(segment.right, tensor, 0, 1);
    const spectrum = options.denoise
      ? await denoisedRun(runner, tensor, options)
      : await runOnce(runner, tensor, options);
    stft.synthesize(spectrum, 0, 0, separated.left);
    stft.synthesize(spectrum, 0, 1, separated.right);
    const keep = Math.min(gen, length - k * gen);
    if (keep <= 0) continue; // the dummy segment of spec §F.5: computed, then thrown away
    out.left.set(separated.left.subarray(trim, trim + keep), k * gen);
    out.right.set(separated.right.subarray(trim, trim + keep), k * gen);
  }
  return out;
}

async function runOnce(
  runner: ModelRunner,
  tensor: Float32Array,
  options: DemixOptions,
): Promise<Float32Array> {
  const result = await runner.run(tensor, 1);
  options.onModelRun?.();
  return result;
}

/** spec §B.6: the negated input first, then the input; 0.5·(M(X) − M(−X)) in the spectral domain. */
async function denoisedRun(
  runner: ModelRunner,
  tensor: Float32Array,
  options: DemixOptions,
): Promise<Float32Array> {
  const negated = new Float32Array(tensor.length);
  for (let i = 0; i < tensor.length; i++) negated[i] = -tensor[i];
  const fromNegated = await runOnce(runner, negated, options);
  const fromInput = await runOnce(runner, tensor, options);
  const combined = new Float32Array(fromInput.length);
  for (let i = 0; i < combined.length; i++) combined[i] = 0.5 * (fromInput[i] - fromNegated[i]);
  return combined;
}
