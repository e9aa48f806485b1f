import { parseArgs } from 'node:util';

import { loadPipelineEnv } from '../config/env.js';
import {
  evaluateTargets,
  finiteMedian,
  type FrameScores,
  type TargetScores,
} from '../pipeline/analysis/bssEval.js';
import { globalSdr } from '../pipeline/analysis/sdr.js';
import {
  listDatasetTracks,
  loadDatasetTrack,
  MIXTURE_SOURCES,
  type MixtureSource,
  type DatasetTrack,
} from '../pipeline/analysis/stemsDataset.js';
import { locateFfmpeg } from '../pipeline/audio/ffmpeg.js';
import { fitLength, type Stereo } from '../pipeline/audio/stereo.js';
import { isStembotError, StembotError } from '../pipeline/errors.js';
import { runKarafanRecipe } from '../pipeline/recipe/karafanRecipe.js';
import { FINAL_STEM_KEYS } from '../pipeline/recipe/outputNames.js';
import { integerOption } from './args.js';
import { ProgressBar } from './progressBar.js';
import { engineChoiceOf, presetOf, SEPARATION_OPTIONS, startEngine, stepCacheOf } from './separate.js';

export const EVAL_USAGE = `Usage: stembot eval <folder> [--preset fast|balanced|best] [--engine auto|mdx|repet]
                    [--music-model ID|PATH] [--vocal-model ID|PATH] [--no-cache]
                    [--mixture stream|sum] [--limit N] [--json [--frames]]

Separates every track of a MUSDB18 folder (*.stem.mp4, or MUSDB18-HQ track folders of WAVs; in the folder or
one folder down, e.g. musdb18/ or musdb18/train/) and scores the Vocals final against the true vocals and the
Music final against the accompaniment (drums + bass + other) with BSS Eval v4 (museval: 1 s windows, 512-tap
filters): SDR, SIR, SAR, ISR per track (median over its frames; silent frames skipped) and the global SDR, then
the median of each over the tracks. Separation options are those of \`stembot separate\`. The recipe normalises
its input (−1 dBFS peak); its stems are scaled back to the mixture's level before scoring.
--mixture stream (default) separates the mixture the dataset provides, as museval/SiSEC do; in the stems format
  it was encoded on its own and differs from vocals + accompaniment by about −25 dB. sum separates
  vocals + accompaniment, whose stems add up to the input exactly.
--limit N takes the first N tracks by name. --json prints one JSON object (NaN as null); --frames adds the
  per-frame scores to it. A track that does not decode is reported and skipped, and the exit code is then 1.`;

/** What eval reports of a target: TargetScores without the frames. */
const METRICS = ['SDR', 'SIR', 'SAR', 'ISR', 'globalSDR'] as const;
type Metric = (typeof METRICS)[number];
type Summary = Record<Metric, number>;

/** Our stems scored against MUSDB18's: the recipe's Vocals final ↔ vocals, its Music final ↔ accompaniment. */
const TARGETS = { vocals: FINAL_STEM_KEYS.vocals, accompaniment: FINAL_STEM_KEYS.music } as const;
type Target = keyof typeof TARGETS;
const TARGET_NAMES = Object.keys(TARGETS) as Target[];

/** decode, separate, evaluate: the progress bar's steps per track */
const STAGES_PER_TRACK = 3;

interface TrackReport {
  readonly name: string;
  readonly targets: Record<Target, Summary & { frames?: FrameScores[] }>;
  /** decode + separation + evaluation, wall clock */
  readonly seconds: number;
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...SEPARATION_OPTIONS,
      mixture: { type: 'string', default: 'stream' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
      frames: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(EVAL_USAGE);
    return 0;
  }
  const [folder] = positionals;
  if (!folder || positionals.length > 1) {
    throw new StembotError('BAD_ARGUMENT', `eval takes one MUSDB18 folder\n\n${EVAL_USAGE}`);
  }
  const preset = presetOf(values.preset);
  const engineChoice = engineChoiceOf(values.engine);
  if (!(MIXTURE_SOURCES as readonly string[]).includes(values.mixture)) {
    throw new StembotError('BAD_ARGUMENT', `--mixture must be stream or sum (got "${values.mixture}")`);
  }
  const mixture = values.mixture as MixtureSource;
  const limit = integerOption('limit', values.limit, Infinity, 1);

  const env = loadPipelineEnv();
  const tools = locateFfmpeg();
  const limits = { maxDurationS: env.STEMBOT_MAX_DURATION_S, maxChannels: env.STEMBOT_MAX_CHANNELS };
  const sources = (await listDatasetTracks(folder)).slice(0, limit);
  const started = performance.now();

  const engine = await startEngine(env, engineChoice, values['music-model'], values['vocal-model']);
  try {
    if (engine.notice) console.error(engine.notice);
    const cache = stepCacheOf(env, values['no-cache']);
    const bar = new ProgressBar(`evaluating ${sources.length} tracks (${engine.engine}, ${preset.name})`);
    const total = sources.length * STAGES_PER_TRACK;
    const reports: TrackReport[] = [];
    const failed: { name: string; error: string }[] = [];

    for (const [index, source] of sources.entries()) {
      const step = (stage: number) => bar.update(index * STAGES_PER_TRACK + stage, total);
      step(0);
      const trackStarted = performance.now();
      let track: DatasetTrack;
      try {
        track = await loadDatasetTrack(tools, source, { mixture, limits });
      } catch (error) {
        if (!isStembotError(error)) throw error;
        failed.push({ name: source.name, error: error.message });
        bar.finish();
        console.error(`error: ${source.name} skipped: ${error.message}`);
        continue;
      }
      step(1);
      const result = await runKarafanRecipe(track.mixture, {
        music: engine.music,
        vocals: engine.vocals,
        preset,
        cache,
      });
      step(2);
      const estimates = backToSongLevel(track.mixture, result.files['1']!, {
        vocals: result.files[TARGETS.vocals]!,
        accompaniment: result.files[TARGETS.accompaniment]!,
      });
      const length = track.vocals.left.length;
      const references: Record<Target, Stereo> = { vocals: track.vocals, accompaniment: track.accompaniment };
      const fitted: Record<Target, Stereo> = {
        vocals: fitLength(estimates.vocals, length),
        accompaniment: fitLength(estimates.accompaniment, length),
      };
      const silent = silentSignals(references, fitted);
      let targets: TrackReport['targets'];
      if (silent.length === 0) {
        const scores = await evaluateTargets(references, fitted);
        targets = {
          vocals: summaryOf(scores.vocals, values.frames),
          accompaniment: summaryOf(scores.accompaniment, values.frames),
        };
      } else {
        bar.finish();
        console.error(
          `note: ${track.name}: silent over the whole track: ${silent.join(', ')}. BSS Eval is undefined ` +
            'there (SDR, SIR, SAR, ISR are NaN, left out of the medians); the global SDRs stand.',
        );
        targets = {
          vocals: undefinedScores(references.vocals, fitted.vocals),
          accompaniment: undefinedScores(references.accompaniment, fitted.accompaniment),
        };
      }
      step(3);
      reports.push({ name: track.name, targets, seconds: (performance.now() - trackStarted) / 1000 });
    }
    bar.finish();

    const median = Object.fromEntries(
      TARGET_NAMES.map((target) => [
        target,
        Object.fromEntries(
          METRICS.map((metric) => [metric, finiteMedian(reports.map((r) => r.targets[target][metric]))]),
        ),
      ]),
    ) as Record<Target, Summary>;
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      // JSON.stringify writes NaN and ±∞ as null
      console.log(
        JSON.stringify({
          engine: engine.engine,
          preset: preset.name,
          mixture,
          tracks: reports,
          median,
          failed,
          seconds,
        }),
      );
    } else {
      console.log(formatTable(reports, median));
      console.error(
        `${reports.length} tracks in ${seconds.toFixed(1)} s, ${engine.engine} on ${engine.device}, ` +
          `preset ${preset.name}, mixture ${mixture}` +
          (failed.length ? `; ${failed.length} skipped: ${failed.map((f) => f.name).join(', ')}` : ''),
      );
    }
    return failed.length > 0 ? 1 : 0;
  } finally {
    await engine.thread?.close();
  }
}

/**
 * The recipe's step 1 works on x = g·(song − dc) (normalised to a −1 dBFS peak), so its stems come out at that
 * level. BSS Eval counts a gain error as distortion (ISR and SDR fall), so the stems are brought back to the
 * song's: divided by g, and the DC put back into the accompaniment so that vocals + accompaniment = song again.
 * g is the least-squares fit of x to song − dc (x is exactly proportional to it, up to float32 rounding).
 */
function backToSongLevel(
  song: Stereo,
  normalized: Stereo,
  stems: Record<Target, Stereo>,
): Record<Target, Stereo> {
  const n = song.left.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += song.left[i] + song.right[i];
  const dc = n > 0 ? sum / (2 * n) : 0;
  let cross = 0;
  let energy = 0;
  for (const [a, b] of [
    [song.left, normalized.left],
    [song.right, normalized.right],
  ] as const) {
    for (let i = 0; i < n; i++) {
      cross += (a[i] - dc) * b[i];
      energy += (a[i] - dc) ** 2;
    }
  }
  const gain = energy > 0 && cross !== 0 ? cross / energy : 1;
  const rescale = (audio: Stereo, offset: number): Stereo => ({
    left: audio.left.map((value) => value / gain + offset),
    right: audio.right.map((value) => value / gain + offset),
  });
  return { vocals: rescale(stems.vocals, 0), accompaniment: rescale(stems.accompaniment, dc) };
}

/**
 * The references and estimates that are digital silence over the whole track (left + right = 0 at every sample,
 * museval's `_any_source_silent`): museval refuses such a track (metrics.validate), evaluateTargets throws.
 */
function silentSignals(references: Record<Target, Stereo>, estimates: Record<Target, Stereo>): string[] {
  const isSilent = ({ left, right }: Stereo) => left.every((value, i) => value + right[i] === 0);
  return TARGET_NAMES.flatMap((target) => [
    ...(isSilent(references[target]) ? [`reference ${target}`] : []),
    ...(isSilent(estimates[target]) ? [`estimated ${target}`] : []),
  ]);
}

/** A target of a track BSS Eval cannot score: NaN metrics, and the global SDR, which is defined (or −∞). */
function undefinedScores(reference: Stereo, estimate: Stereo): Summary {
  return { SDR: NaN, SIR: NaN, SAR: NaN, ISR: NaN, globalSDR: globalSdr(reference, estimate) };
}

function summaryOf(scores: TargetScores, withFrames: boolean): Summary & { frames?: FrameScores[] } {
  const summary = Object.fromEntries(METRICS.map((metric) => [metric, scores[metric]])) as Summary;
  return withFrames ? { ...summary, frames: scores.frames } : summary;
}

/** One column of the text table: its group (printed over the group's first column), label and value. */
interface Column {
  readonly group: string;
  readonly label: string;
  readonly value: (targets: Record<Target, Summary>) => number;
}

const TABLE_COLUMNS: readonly Column[] = [
  ...TARGET_NAMES.flatMap((target) =>
    (['SDR', 'SIR', 'SAR', 'ISR'] as const).map((metric) => ({
      group: target,
      label: metric,
      value: (targets: Record<Target, Summary>) => targets[target][metric],
    })),
  ),
  ...TARGET_NAMES.map((target) => ({
    group: 'global SDR',
    label: target === 'vocals' ? 'vocals' : 'accomp.',
    value: (targets: Record<Target, Summary>) => targets[target].globalSDR,
  })),
];
const CELL = 8;

/** The per-track table and the medians, metrics in dB with 2 decimals, NaN as "nan". */
function formatTable(reports: readonly TrackReport[], median: Record<Target, Summary>): string {
  const width = Math.min(40, Math.max('median'.length, ...reports.map((r) => r.name.length)));
  const name = (text: string) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
  const number = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'nan');
  const row = (first: string, cells: readonly string[]) =>
    name(first) + cells.map((c) => c.padStart(CELL)).join('');

  let groups = '';
  TABLE_COLUMNS.forEach((column, i) => {
    if (i === 0 || TABLE_COLUMNS[i - 1].group !== column.group) {
      groups = `${groups.padEnd(width + i * CELL)}  ${column.group}`;
    }
  });
  const labels = row('track', [...TABLE_COLUMNS.map((c) => c.label), 'seconds']);
  const rule = '─'.repeat(labels.length);
  const lines = reports.map((r) =>
    row(r.name, [...TABLE_COLUMNS.map((c) => number(c.value(r.targets))), number(r.seconds, 1)]),
  );
  const medians = row(
    'median',
    TABLE_COLUMNS.map((c) => number(c.value(median))),
  );
  return [groups, labels, rule, ...lines, rule, medians].join('\n');
}
