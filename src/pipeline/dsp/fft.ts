import createPffft, { type PffftModule } from '@echogarden/pffft-wasm/simd';

/**
 * Real FFT of any size 2^a·3^b·5^c with a ≥ 5, through PFFFT compiled to WebAssembly (SIMD build).
 * The MDX sizes 7680, 6144 and 5120 are not powers of two, so fft.js cannot serve (spec §F.1); PFFFT is the
 * fastest measured option (performance-notes "FFT": 84.8 k frames/s at 7680).
 *
 * Spectra use PFFFT's ordered real layout, length n:
 *   [re(0), re(n/2), re(1), im(1), re(2), im(2), …, re(n/2 − 1), im(n/2 − 1)]
 * Neither direction is normalised: inverse(forward(x)) = n·x.
 */
export interface RealFft {
  readonly size: number;
  /** time (length n) → ordered spectrum (length n) */
  forward(time: Float32Array, spectrum: Float32Array): void;
  /** ordered spectrum (length n) → time (length n), scaled by n */
  inverse(spectrum: Float32Array, time: Float32Array): void;
}

const PFFFT_REAL = 0;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

let modulePromise: Promise<PffftModule> | undefined;

function loadPffft(): Promise<PffftModule> {
  modulePromise ??= createPffft();
  return modulePromise;
}

/** The sizes PFFFT accepts for real transforms: n = 2^a·3^b·5^c with a ≥ 5. */
export function isSupportedFftSize(n: number): boolean {
  if (!Number.isInteger(n) || n < 32 || n % 32 !== 0) return false;
  let m = n;
  for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
  return m === 1;
}

export async function createRealFft(size: number): Promise<RealFft> {
  if (!isSupportedFftSize(size)) {
    throw new Error(
      `FFT size ${size} is not supported: it must be 2^a·3^b·5^c with a ≥ 5 (e.g. 5120, 6144, 7680)`,
    );
  }
  const wasm = await loadPffft();
  const setup = wasm._pffft_new_setup(size, PFFFT_REAL);
  if (setup === 0) throw new Error(`PFFFT refused size ${size}`);
  const bytes = size * 4;
  const input = wasm._pffft_aligned_malloc(bytes);
  const output = wasm._pffft_aligned_malloc(bytes);
  const work = wasm._pffft_aligned_malloc(bytes);

  // The heap can grow (and its views be replaced) when memory is allocated, so read HEAPF32 at each call.
  const transform = (source: Float32Array, target: Float32Array, direction: number): void => {
    const heap = wasm.HEAPF32;
    heap.set(source.subarray(0, size), input >> 2);
    wasm._pffft_transform_ordered(setup, input, output, work, direction);
    target.set(wasm.HEAPF32.subarray(output >> 2, (output >> 2) + size));
  };

  return {
    size,
    forward: (time, spectrum) => transform(time, spectrum, PFFFT_FORWARD),
    inverse: (spectrum, time) => transform(spectrum, time, PFFFT_BACKWARD),
  };
}

/**
 * |X[k]|² for bins k = 0…n/2 of an ordered spectrum (the layout above): `power` has n/2 + 1 entries. Bin 0 is
 * re(0)², bin n/2 is re(n/2)², the others re² + im².
 */
export function powerSpectrum(spectrum: Float32Array, power: Float32Array): void {
  const half = spectrum.length / 2;
  power[0] = spectrum[0] * spectrum[0];
  power[half] = spectrum[1] * spectrum[1];
  for (let k = 1; k < half; k++)
    power[k] = spectrum[2 * k] * spectrum[2 * k] + spectrum[2 * k + 1] * spectrum[2 * k + 1];
}
