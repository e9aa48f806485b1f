import { fullSizeBenchmarkModel } from '../src/fixtures/cache.js';
import { normalArray, seededRandom } from '../src/fixtures/seededRandom.js';
import { openOnnxModel } from '../src/pipeline/mdx/onnxModel.js';
import { BENCH_GEOMETRY, SONG_SECONDS } from './stftBench.js';
import { PERFORMANCE_NOTES, type Figure, figure, log, median, min, round, secondsSince } from './report.js';

/** performance-notes "The network": 759 GFLOP per [1, 4, 3072, 256] window. */
const GFLOP_PER_WINDOW = 759;
const REFERENCE_BOX = '2-core x86-64 AVX-512 box, onnxruntime-node 1.30 CPU, intraOpNumThreads 2';

export interface ModelBenchOptions {
  /** timed runs after the warm-up run (>= 1) */
  readonly windows: number;
  readonly threads: number;
  readonly segmentsPerPass: number;
}

export interface ModelBenchResult {
  readonly method: string;
  readonly modelPath: string;
  readonly threads: number;
  readonly provider: string;
  readonly modelPrepareS: number;
  readonly sessionOpenS: number;
  readonly warmUpS: number;
  readonly timedRunsS: number[];
  readonly secondsPerWindow: Figure;
  readonly secondsPerWindowMin: Figure;
  readonly gflopPerS: Figure;
  readonly secondsPerPass: Figure;
  readonly realTimeFactorPerPass: Figure;
  readonly outputFinite: boolean;
  readonly rssAfterMb: number;
}

/** Seconds per window of the full-size ConvTDFNet through openOnnxModel on this CPU. */
export async function runModelBench(options: ModelBenchOptions): Promise<ModelBenchResult> {
  const geometry = BENCH_GEOMETRY;
  let start = performance.now();
  log('model: preparing the full-size benchmark model (generated once into .cache/fixtures)');
  const modelPath = await fullSizeBenchmarkModel();
  const modelPrepareS = secondsSince(start);

  start = performance.now();
  const model = await openOnnxModel(modelPath, geometry, { device: 'cpu', threads: options.threads });
  const sessionOpenS = secondsSince(start);
  try {
    const stride = 4 * geometry.dimF * geometry.dimT;
    // unit scale: the random-weight net's output grows fast with the input's scale
    const tensor = normalArray(seededRandom(20240501), stride);

    log(`model: warm-up run (${options.threads} threads)`);
    start = performance.now();
    let output = await model.run(tensor, 1);
    const warmUpS = secondsSince(start);
    log(`model: warm-up ${warmUpS.toFixed(2)} s`);

    const times: number[] = [];
    for (let i = 0; i < options.windows; i++) {
      start = performance.now();
      output = await model.run(tensor, 1);
      times.push(secondsSince(start));
      log(`model: window ${i + 1}/${options.windows} ${times[i].toFixed(2)} s`);
    }
    let outputFinite = true;
    for (let i = 0; i < output.length; i++) {
      if (!Number.isFinite(output[i])) {
        outputFinite = false;
        break;
      }
    }

    const perWindow = median(times);
    const passSeconds = perWindow * options.segmentsPerPass;
    return {
      method:
        `openOnnxModel(fullSizeBenchmarkModel(), {nFft: 7680, dimF: 3072, dimT: 256}, {device: 'cpu', ` +
        `threads: ${options.threads}}).run(tensor, 1) on a seeded N(0,1) [1, 4, 3072, 256] tensor; 1 warm-up run, ` +
        `${options.windows} timed runs; measured = median`,
      modelPath,
      threads: options.threads,
      provider: model.provider,
      modelPrepareS: round(modelPrepareS),
      sessionOpenS: round(sessionOpenS),
      warmUpS: round(warmUpS),
      timedRunsS: times.map((t) => round(t)),
      secondsPerWindow: figure(perWindow, 's', 'lower', {
        reference: 2.95,
        referenceSource: `${PERFORMANCE_NOTES} "onnxruntime-node, CPU, 2 cores": ${REFERENCE_BOX}`,
        note: 'median of the timed runs',
      }),
      secondsPerWindowMin: figure(min(times), 's', 'lower', {
        reference: 2.95,
        referenceSource: `${PERFORMANCE_NOTES} "onnxruntime-node, CPU, 2 cores": ${REFERENCE_BOX}`,
        note: 'fastest timed run: the least disturbed by other load',
      }),
      gflopPerS: figure(GFLOP_PER_WINDOW / perWindow, 'GFLOP/s', 'higher', {
        reference: 253,
        referenceSource: `${PERFORMANCE_NOTES} "onnxruntime-node, CPU, 2 cores": 759 GFLOP per window, 253 GFLOP/s`,
        note: '759 GFLOP / median seconds per window',
      }),
      secondsPerPass: figure(passSeconds, 's', 'lower', {
        reference: 127,
        referenceSource: `${PERFORMANCE_NOTES}: one pass over a 4-minute song is ~127 s on 2 cores`,
        note: `implied: median seconds per window x ${options.segmentsPerPass} windows (4-min song, one pass)`,
      }),
      realTimeFactorPerPass: figure(passSeconds / SONG_SECONDS, 'x real time', 'lower', {
        reference: 0.53,
        referenceSource: `${PERFORMANCE_NOTES}: real-time factor 0.53 per pass on 2 cores`,
        note: `pass seconds / ${SONG_SECONDS} s of audio (< 1 is faster than real time)`,
      }),
      outputFinite,
      rssAfterMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  } finally {
    await model.release();
  }
}
