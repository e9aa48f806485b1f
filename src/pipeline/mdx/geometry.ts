import { StembotError } from '../errors.js';
import { isSupportedFftSize } from '../dsp/fft.js';

/** spec §B.2: every MDX-Net model here uses a hop of 1024 samples. */
export const MDX_HOP = 1024;

/**
 * The shape of an MDX-Net model's input and what follows from it (spec §B.2–B.3).
 * n_fft: FFT size; dim_f: frequency bins kept; dim_t: frames per segment (256 for every UVR model).
 */
export interface MdxGeometry {
  readonly nFft: number;
  readonly dimF: number;
  readonly dimT: number;
}

export interface SegmentPlan {
  /** L_seg = hop·(dim_t − 1): samples per segment (261120 for dim_t 256). */
  readonly segmentLength: number;
  /** trim = n_fft/2: context samples dropped at each end of a segment. */
  readonly trim: number;
  /** gen = L_seg − 2·trim: new samples each segment contributes. */
  readonly gen: number;
}

export function segmentPlan(geometry: MdxGeometry): SegmentPlan {
  const segmentLength = MDX_HOP * (geometry.dimT - 1);
  const trim = geometry.nFft / 2;
  return { segmentLength, trim, gen: segmentLength - 2 * trim };
}

/** Rejects geometries the STFT contract cannot serve, with a message naming the parameter at fault. */
export function validateGeometry(geometry: MdxGeometry): void {
  const { nFft, dimF, dimT } = geometry;
  const fail = (message: string): never => {
    throw new StembotError('MODEL_INVALID', `Invalid model parameters: ${message}`);
  };
  if (!Number.isInteger(nFft) || !isSupportedFftSize(nFft)) {
    fail(`n_fft ${nFft} must be a multiple of 32 of the form 2^a·3^b·5^c (UVR models use 5120, 6144, 7680)`);
  }
  // Hann² overlap-added at hop 1024 vanishes somewhere when n_fft < 2·hop: the iSTFT would divide by zero.
  if (nFft < 2 * MDX_HOP) fail(`n_fft ${nFft} must be at least ${2 * MDX_HOP}`);
  if (!Number.isInteger(dimF) || dimF < 1 || dimF > nFft / 2 + 1) {
    fail(`dim_f ${dimF} must be between 1 and n_fft/2 + 1 = ${nFft / 2 + 1}`);
  }
  if (!Number.isInteger(dimT) || dimT < 2) fail(`dim_t ${dimT} must be an integer ≥ 2`);
  const { gen, segmentLength } = segmentPlan(geometry);
  if (gen <= 0)
    fail(
      `dim_t ${dimT} is too small for n_fft ${nFft}: a segment (${segmentLength} samples) must be longer than n_fft`,
    );
}
