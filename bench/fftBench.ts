import { createRealFft, type RealFft } from '../src/pipeline/dsp/fft.js';
import { normalArray, seededRandom } from '../src/fixtures/seededRandom.js';
import { PERFORMANCE_NOTES, type Figure, figure, log, max, median, round } from './report.js';

/** performance-notes "FFT": @echogarden/pffft-wasm (SIMD build), single thread, real FFT at 7680 points. */
export const FFT_REFERENCE_FRAMES_PER_S: Readonly<Record<number, number>> = { 7680: 84_800 };
export const FFT_SIZES = [7680, 6144, 5120] as const;

export interface FftBenchOptions {
  /** timed rounds per size and direction; the median round is the figure */
  readonly rounds: number;
  /** minimum seconds per round */
  readonly roundSeconds: number;
}

export interface FftRates {
  readonly forwardFramesPerS: number;
  readonly inverseFramesPerS: number;
}

export interface FftSizeResult {
  readonly size: number;
  readonly forward: Figure & { readonly bestRoundFramesPerS: number; readonly roundsFramesPerS: number[] };
  readonly inverse: { readonly medianFramesPerS: number; readonly bestRoundFramesPerS: number };
}

export interface FftBenchResult {
  readonly method: string;
  readonly sizes: FftSizeResult[];
  /** the median rates at 7680, for the STFT's FFT floor */
  readonly rates7680: FftRates;
}

const BATCH = 128;

function roundRate(transform: () => void, seconds: number): number {
  let frames = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < BATCH; i++) transform();
    frames += BATCH;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds);
  return frames / elapsed;
}

function measure(transform: () => void, options: FftBenchOptions): number[] {
  for (let i = 0; i < 4 * BATCH; i++) transform(); // warm-up: JIT, wasm tier-up, caches
  const rates: number[] = [];
  for (let r = 0; r < options.rounds; r++) rates.push(roundRate(transform, options.roundSeconds));
  return rates;
}

async function benchSize(size: number, options: FftBenchOptions): Promise<FftSizeResult> {
  const fft: RealFft = await createRealFft(size);
  const time = normalArray(seededRandom(size), size);
  const spectrum = new Float32Array(size);
  const back = new Float32Array(size);
  fft.forward(time, spectrum);
  const forwardRates = measure(() => fft.forward(time, spectrum), options);
  const inverseRates = measure(() => fft.inverse(spectrum, back), options);
  const reference = FFT_REFERENCE_FRAMES_PER_S[size] ?? null;
  const forwardMedian = median(forwardRates);
  log(
    `fft ${size}: forward ${Math.round(forwardMedian)} frames/s, inverse ${Math.round(median(inverseRates))}`,
  );
  return {
    size,
    forward: {
      ...figure(forwardMedian, 'frames/s', 'higher', {
        reference,
        ...(reference === null
          ? { note: 'no reference figure for this size' }
          : {
              referenceSource: `${PERFORMANCE_NOTES} "FFT": @echogarden/pffft-wasm SIMD build, 84.8 k frames/s`,
            }),
      }),
      bestRoundFramesPerS: round(max(forwardRates), 4),
      roundsFramesPerS: forwardRates.map((rate) => round(rate, 4)),
    },
    inverse: {
      medianFramesPerS: round(median(inverseRates), 4),
      bestRoundFramesPerS: round(max(inverseRates), 4),
    },
  };
}

/** Frames per second of createRealFft's forward (and inverse) transform, one thread, one frame at a time. */
export async function runFftBench(options: FftBenchOptions): Promise<FftBenchResult> {
  const sizes: FftSizeResult[] = [];
  for (const size of FFT_SIZES) sizes.push(await benchSize(size, options));
  const at7680 = sizes.find((result) => result.size === 7680);
  if (!at7680) throw new Error('the 7680-point FFT was not measured');
  return {
    method:
      `createRealFft (src/pipeline/dsp/fft.ts), one thread, the same seeded N(0,1) frame each call (copy in + ` +
      `transform + copy out, as MdxStft uses it); ${options.rounds} rounds of >= ${options.roundSeconds} s per ` +
      `size and direction after a warm-up; measured = median round`,
    sizes,
    rates7680: {
      forwardFramesPerS: at7680.forward.measured,
      inverseFramesPerS: at7680.inverse.medianFramesPerS,
    },
  };
}
