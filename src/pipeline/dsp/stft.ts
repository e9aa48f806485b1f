import type { RealFft } from './fft.js';
import { MDX_HOP, type MdxGeometry, segmentPlan } from '../mdx/geometry.js';

/**
 * STFT and iSTFT of one MDX segment with the exact torch semantics of spec §B.2 and §B.5, reading and writing
 * the model's tensor layout directly (spec §B.1): [batch, 4, dim_f, dim_t], time fastest,
 * channel 0 = left re, 1 = left im, 2 = right re, 3 = right im.
 *
 * - window: periodic Hann of length n_fft; hop 1024; center = true with reflect padding of n_fft/2;
 * - forward keeps bins 0..dim_f−1 (no bin is zeroed: KaraFan, unlike UVR, keeps bins 0–2, spec §B.8);
 * - inverse sets bins ≥ dim_f to 0, ignores imag(DC) and imag(Nyquist), scales by 1/n_fft, overlap-adds the
 *   windowed frames and divides by the real squared-window envelope (not a constant: spec §F.4).
 */
export class MdxStft {
  readonly segmentLength: number;
  private readonly nFft: number;
  private readonly dimF: number;
  private readonly dimT: number;
  private readonly window: Float32Array;
  /** 1 / envelope over the kept output region [n_fft/2, n_fft/2 + L_seg). */
  private readonly inverseEnvelope: Float32Array;
  private readonly frame: Float32Array;
  private readonly spectrum: Float32Array;
  private readonly overlapAdd: Float64Array;

  constructor(
    private readonly fft: RealFft,
    geometry: MdxGeometry,
  ) {
    const { nFft, dimF, dimT } = geometry;
    if (fft.size !== nFft) throw new Error(`FFT size ${fft.size} does not match n_fft ${nFft}`);
    this.nFft = nFft;
    this.dimF = dimF;
    this.dimT = dimT;
    this.segmentLength = segmentPlan(geometry).segmentLength;
    this.window = periodicHann(nFft);
    this.frame = new Float32Array(nFft);
    this.spectrum = new Float32Array(nFft);
    this.overlapAdd = new Float64Array(nFft + MDX_HOP * (dimT - 1));
    this.inverseEnvelope = this.buildInverseEnvelope();
  }

  /** Values per batch entry of the model tensor: 4·dim_f·dim_t. */
  get tensorStride(): number {
    return 4 * this.dimF * this.dimT;
  }

  /**
   * STFT of one channel of one segment (length L_seg) into `tensor` at batch entry `batch`.
   * `channel` 0 = left (tensor channels 0, 1), 1 = right (tensor channels 2, 3).
   */
  analyze(segment: Float32Array, tensor: Float32Array, batch: number, channel: 0 | 1): void {
    const { nFft, dimF, dimT, window, frame, spectrum } = this;
    const length = this.segmentLength;
    const half = nFft / 2;
    const planeSize = dimF * dimT;
    const reBase = (batch * 4 + channel * 2) * planeSize;
    const imBase = reBase + planeSize;
    for (let t = 0; t < dimT; t++) {
      const start = t * MDX_HOP - half;
      for (let i = 0; i < nFft; i++) {
        let p = start + i;
        // spec §B.2: reflect padding, the mirror excludes the edge sample
        if (p < 0) p = -p;
        else if (p >= length) p = 2 * (length - 1) - p;
        frame[i] = segment[p] * window[i];
      }
      this.fft.forward(frame, spectrum);
      tensor[reBase + t] = spectrum[0];
      tensor[imBase + t] = 0;
      const lastPair = Math.min(dimF, half);
      for (let f = 1; f < lastPair; f++) {
        tensor[reBase + f * dimT + t] = spectrum[2 * f];
        tensor[imBase + f * dimT + t] = spectrum[2 * f + 1];
      }
      if (dimF > half) {
        tensor[reBase + half * dimT + t] = spectrum[1];
        tensor[imBase + half * dimT + t] = 0;
      }
    }
  }

  /** iSTFT of one channel of batch entry `batch` of `tensor` into `out` (length L_seg). */
  synthesize(tensor: Float32Array, batch: number, channel: 0 | 1, out: Float32Array): void {
    const { nFft, dimF, dimT, window, frame, spectrum, overlapAdd } = this;
    const half = nFft / 2;
    const planeSize = dimF * dimT;
    const reBase = (batch * 4 + channel * 2) * planeSize;
    const imBase = reBase + planeSize;
    const scale = 1 / nFft;
    const lastPair = Math.min(dimF, half);
    overlapAdd.fill(0);
    for (let t = 0; t < dimT; t++) {
      spectrum.fill(0);
      spectrum[0] = tensor[reBase + t]; // imag(DC) is ignored, as irfft does
      for (let f = 1; f < lastPair; f++) {
        spectrum[2 * f] = tensor[reBase + f * dimT + t];
        spectrum[2 * f + 1] = tensor[imBase + f * dimT + t];
      }
      if (dimF > half) spectrum[1] = tensor[reBase + half * dimT + t];
      this.fft.inverse(spectrum, frame);
      const offset = t * MDX_HOP;
      for (let i = 0; i < nFft; i++) overlapAdd[offset + i] += frame[i] * scale * window[i];
    }
    const envelope = this.inverseEnvelope;
    for (let j = 0; j < this.segmentLength; j++) out[j] = overlapAdd[half + j] * envelope[j];
  }

  private buildInverseEnvelope(): Float32Array {
    const { nFft, dimT, window } = this;
    const envelope = new Float64Array(nFft + MDX_HOP * (dimT - 1));
    for (let t = 0; t < dimT; t++) {
      for (let i = 0; i < nFft; i++) envelope[t * MDX_HOP + i] += window[i] * window[i];
    }
    const inverse = new Float32Array(this.segmentLength);
    for (let j = 0; j < this.segmentLength; j++) {
      const value = envelope[nFft / 2 + j];
      // torch.istft refuses an envelope ≤ 1e-11 (spec §B.5)
      if (value <= 1e-11) throw new Error(`iSTFT window envelope vanishes at sample ${j}`);
      inverse[j] = 1 / value;
    }
    return inverse;
  }
}

/** torch.hann_window(n, periodic=True): w[i] = 0.5 − 0.5·cos(2πi/n). */
export function periodicHann(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}
