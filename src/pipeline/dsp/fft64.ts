/**
 * A float64 FFT for measurements that need more than float32: BSS Eval's correlations feed a Gram matrix whose
 * condition number reaches 1e13 on real music, so PFFFT's float32 (`fft.ts`, the fast one for the recipe) would
 * move SIR and SAR by many dB. Power-of-two sizes only: the callers pad as they like.
 */
/** A complex array as two float64 arrays of one length. */
export interface Complex {
  re: Float64Array;
  im: Float64Array;
}

/** The smallest power of two ≥ n. */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Radix-2 complex FFT in float64 (power-of-two sizes), used two real signals at a time: z = x + i·y, then
 * X[k] = (Z[k] + conj Z[n−k])/2 and Y[k] = (Z[k] − conj Z[n−k])/(2i). Half spectra hold bins 0…n/2.
 */
export class Fft64 {
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly reversed: Uint32Array;

  constructor(readonly size: number) {
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.reversed = new Uint32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.reversed[i] = r;
    }
  }

  /**
   * Half spectra of x[from + t] and y[from + t], t ∈ [0, size), where from + t ∈ [lo, hi) (zero elsewhere).
   */
  forwardPair(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
    from: number,
    lo: number,
    hi: number,
    outX: Complex,
    outY: Complex,
  ): void {
    const { re, im, size } = this;
    re.fill(0);
    im.fill(0);
    const first = Math.max(lo, from);
    const last = Math.min(hi, from + size);
    for (let i = first; i < last; i++) {
      re[i - from] = x[i];
      im[i - from] = y[i];
    }
    this.transform(false);
    for (let k = 0; k <= size / 2; k++) {
      const m = (size - k) & (size - 1);
      const zr = re[k];
      const zi = im[k];
      const wr = re[m];
      const wi = im[m];
      outX.re[k] = 0.5 * (zr + wr);
      outX.im[k] = 0.5 * (zi - wi);
      outY.re[k] = 0.5 * (zi + wi);
      outY.im[k] = -0.5 * (zr - wr);
    }
  }

  /** Real signals (length size) of two Hermitian half spectra, normalised (x = IFFT(X)). */
  inversePair(X: Complex, Y: Complex, x: Float64Array, y: Float64Array): void {
    this.loadInversePair(X, Y);
    this.transform(true);
    const scale = 1 / this.size;
    for (let i = 0; i < this.size; i++) {
      x[i] = this.re[i] * scale;
      y[i] = this.im[i] * scale;
    }
  }

  /** The first `count` samples of the inverse of each half spectrum. */
  inverseFirst(spectra: readonly Complex[], count: number): Float64Array[] {
    const out: Float64Array[] = [];
    const scale = 1 / this.size;
    for (let s = 0; s < spectra.length; s += 2) {
      const second = s + 1 < spectra.length ? spectra[s + 1] : undefined;
      this.loadInversePair(spectra[s], second);
      this.transform(true);
      out.push(this.re.slice(0, count).map((v) => v * scale));
      if (second) out.push(this.im.slice(0, count).map((v) => v * scale));
    }
    return out;
  }

  /** z = x + i·y over the whole circle from the half spectra X, Y (Y = 0 when absent). */
  private loadInversePair(X: Complex, Y: Complex | undefined): void {
    const { re, im, size } = this;
    const half = size / 2;
    for (let k = 0; k <= half; k++) {
      const yr = Y ? Y.re[k] : 0;
      const yi = Y ? Y.im[k] : 0;
      re[k] = X.re[k] - yi;
      im[k] = X.im[k] + yr;
      if (k > 0 && k < half) {
        re[size - k] = X.re[k] + yi;
        im[size - k] = yr - X.im[k];
      }
    }
  }

  /**
   * In place on (re, im); the inverse is not normalised. Decimation in time after a bit-reversal permutation: the
   * first two stages fused (twiddles 1 and ∓i), then the rest two at a time (radix 2², half the passes over the
   * data), a last radix-2 stage when their count is odd. Needs size ≥ 8.
   */
  private transform(inverse: boolean): void {
    const { re, im, size, cos, sin, reversed } = this;
    for (let i = 0; i < size; i++) {
      const j = reversed[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    const sign = inverse ? 1 : -1; // the exponent's sign: w = exp(sign·2πi·k/len)
    for (let i = 0; i < size; i += 4) {
      const s0r = re[i] + re[i + 1];
      const s0i = im[i] + im[i + 1];
      const d0r = re[i] - re[i + 1];
      const d0i = im[i] - im[i + 1];
      const s1r = re[i + 2] + re[i + 3];
      const s1i = im[i + 2] + im[i + 3];
      const d1r = re[i + 2] - re[i + 3];
      const d1i = im[i + 2] - im[i + 3];
      const xr = -sign * d1i; // d1·(sign·i)
      const xi = sign * d1r;
      re[i] = s0r + s1r;
      im[i] = s0i + s1i;
      re[i + 2] = s0r - s1r;
      im[i + 2] = s0i - s1i;
      re[i + 1] = d0r + xr;
      im[i + 1] = d0i + xi;
      re[i + 3] = d0r - xr;
      im[i + 3] = d0i - xi;
    }
    let len = 8;
    // stages len and 2·len together: w_len = w_2len², and w_2len^(k + len/2) = w_2len^k·(sign·i)
    for (; len * 2 <= size; len *= 4) {
      const quarter = len / 2;
      const stepA = size / len;
      const stepB = stepA / 2;
      for (let start = 0; start < size; start += 2 * len) {
        for (let k = 0; k < quarter; k++) {
          const war = cos[k * stepA];
          const wai = sign * sin[k * stepA];
          const wbr = cos[k * stepB];
          const wbi = sign * sin[k * stepB];
          const i0 = start + k;
          const i1 = i0 + quarter;
          const i2 = i0 + len;
          const i3 = i2 + quarter;
          const t1r = re[i1] * war - im[i1] * wai;
          const t1i = re[i1] * wai + im[i1] * war;
          const t3r = re[i3] * war - im[i3] * wai;
          const t3i = re[i3] * wai + im[i3] * war;
          const b0r = re[i0] + t1r;
          const b0i = im[i0] + t1i;
          const b1r = re[i0] - t1r;
          const b1i = im[i0] - t1i;
          const b2r = re[i2] + t3r;
          const b2i = im[i2] + t3i;
          const b3r = re[i2] - t3r;
          const b3i = im[i2] - t3i;
          const u2r = b2r * wbr - b2i * wbi;
          const u2i = b2r * wbi + b2i * wbr;
          const v3r = b3r * wbr - b3i * wbi;
          const v3i = b3r * wbi + b3i * wbr;
          const u3r = -sign * v3i;
          const u3i = sign * v3r;
          re[i0] = b0r + u2r;
          im[i0] = b0i + u2i;
          re[i2] = b0r - u2r;
          im[i2] = b0i - u2i;
          re[i1] = b1r + u3r;
          im[i1] = b1i + u3i;
          re[i3] = b1r - u3r;
          im[i3] = b1i - u3i;
        }
      }
    }
    for (; len <= size; len *= 2) {
      const half = len / 2;
      const step = size / len;
      for (let start = 0; start < size; start += len) {
        for (let k = 0; k < half; k++) {
          const wr = cos[k * step];
          const wi = sign * sin[k * step];
          const i = start + k;
          const j = i + half;
          const xr = re[j] * wr - im[j] * wi;
          const xi = re[j] * wi + im[j] * wr;
          re[j] = re[i] - xr;
          im[j] = im[i] - xi;
          re[i] += xr;
          im[i] += xi;
        }
      }
    }
  }
}
