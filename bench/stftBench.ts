import { normalArray, seededRandom } from '../src/fixtures/seededRandom.js';
import { SAMPLE_RATE } from '../src/pipeline/audio/stereo.js';
import { createRealFft } from '../src/pipeline/dsp/fft.js';
import { MdxStft } from '../src/pipeline/dsp/stft.js';
import { DEFAULT_CHUNK_SIZE, countModelRuns } from '../src/pipeline/mdx/demix.js';
import { type MdxGeometry, segmentPlan } from '../src/pipeline/mdx/geometry.js';
import type { FftRates } from './fftBench.js';
import { PERFORMANCE_NOTES, type Figure, figure, log, median, min, round } from './report.js';

export const BENCH_GEOMETRY: MdxGeometry = { nFft: 7680, dimF: 3072, dimT: 256 };
export const SONG_SECONDS = 240;

/**
 * Segments (= model windows) of one pass over a 4-minute song: ceil(N/gen)-style segmentation per 500000-sample
 * chunk (spec §B.3), 21 full chunks + 1 partial = 43, the count performance-notes uses.
 */
export function segmentsPerSongPass(geometry: MdxGeometry = BENCH_GEOMETRY): number {
  const { gen } = segmentPlan(geometry);
  return countModelRuns(SONG_SECONDS * SAMPLE_RATE, gen, {
    shifts: 1,
    denoise: false,
    chunkSize: DEFAULT_CHUNK_SIZE,
  });
}

export interface StftBenchOptions {
  /** timed segments (after one warm-up segment), each = analyze + synthesize of both channels */
  readonly segments: number;
}

export interface StftBenchResult {
  readonly method: string;
  readonly segmentsPerPass: number;
  readonly segmentsTimed: number;
  readonly perSegment: {
    readonly medianS: number;
    readonly minS: number;
    readonly analyzePerChannelMedianS: number;
    readonly synthesizePerChannelMedianS: number;
    readonly allS: number[];
  };
  readonly secondsPerPass: Figure;
  readonly fftFloor: {
    readonly forwardFrames: number;
    readonly inverseFrames: number;
    readonly secondsPerPass: number;
    readonly method: string;
  };
  readonly ratioToFftFloor: Figure;
}

/** STFT + iSTFT seconds per model pass of a 4-minute stereo song, scaled from a few timed segments. */
export async function runStftBench(options: StftBenchOptions, rates: FftRates): Promise<StftBenchResult> {
  const geometry = BENCH_GEOMETRY;
  const segmentsPerPass = segmentsPerSongPass(geometry);
  const fft = await createRealFft(geometry.nFft);
  const stft = new MdxStft(fft, geometry);
  const random = seededRandom(7680);
  const segment = normalArray(random, stft.segmentLength, 0.1);
  const tensor = new Float32Array(stft.tensorStride);
  const out = new Float32Array(stft.segmentLength);

  const timeSegment = (): { analyze: number; synthesize: number } => {
    let analyze = 0;
    let synthesize = 0;
    for (const channel of [0, 1] as const) {
      const a = performance.now();
      stft.analyze(segment, tensor, 0, channel);
      const b = performance.now();
      stft.synthesize(tensor, 0, channel, out);
      const c = performance.now();
      analyze += (b - a) / 1000;
      synthesize += (c - b) / 1000;
    }
    return { analyze, synthesize };
  };

  timeSegment(); // warm-up
  const totals: number[] = [];
  const analyzes: number[] = [];
  const synthesizes: number[] = [];
  for (let s = 0; s < options.segments; s++) {
    const { analyze, synthesize } = timeSegment();
    totals.push(analyze + synthesize);
    analyzes.push(analyze / 2);
    synthesizes.push(synthesize / 2);
  }
  const perSegment = median(totals);
  const passSeconds = perSegment * segmentsPerPass;
  log(`stft: ${perSegment.toFixed(4)} s per segment (2 channels), ${passSeconds.toFixed(3)} s per pass`);

  const frames = segmentsPerPass * 2 * geometry.dimT;
  const floorSeconds = frames / rates.forwardFramesPerS + frames / rates.inverseFramesPerS;
  return {
    method:
      `MdxStft(createRealFft(7680), {nFft: 7680, dimF: 3072, dimT: 256}); one segment = analyze + synthesize of ` +
      `channels 0 and 1 on a seeded N(0, 0.1) segment of ${stft.segmentLength} samples; 1 warm-up segment, ` +
      `${options.segments} timed; seconds per pass = median segment x ${segmentsPerPass} (scaled, not a full pass)`,
    segmentsPerPass,
    segmentsTimed: options.segments,
    perSegment: {
      medianS: round(perSegment),
      minS: round(min(totals)),
      analyzePerChannelMedianS: round(median(analyzes)),
      synthesizePerChannelMedianS: round(median(synthesizes)),
      allS: totals.map((t) => round(t)),
    },
    secondsPerPass: figure(passSeconds, 's', 'lower', {
      reference: 0.8,
      referenceSource: `${PERFORMANCE_NOTES} "H100": host-side STFT/iSTFT ~0.8 s per pass single-threaded JS`,
      note: `scaled: median of ${options.segments} timed segments x ${segmentsPerPass} segments (2 channels each)`,
    }),
    fftFloor: {
      forwardFrames: frames,
      inverseFrames: frames,
      secondsPerPass: round(floorSeconds),
      method:
        `${segmentsPerPass} x 2 x ${geometry.dimT} forward frames at the measured forward rate + as many inverse ` +
        `frames at the measured inverse rate (7680 points, median rounds)`,
    },
    ratioToFftFloor: figure(passSeconds / floorSeconds, 'x', 'lower', {
      note:
        'measured pass seconds / FFT-only seconds for the same frames: the overhead of windowing, padding, ' +
        'layout and overlap-add (1 = pure FFT cost); measured is the ratio itself, no reference',
    }),
  };
}
