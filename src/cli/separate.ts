import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cacheDirOf, loadPipelineEnv, type PipelineEnv } from '../config/env.js';
import { stemLevels } from '../pipeline/analysis/levels.js';
import { decodeAudio } from '../pipeline/audio/decode.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../pipeline/audio/encode.js';
import { locateFfmpeg } from '../pipeline/audio/ffmpeg.js';
import { stereoDuration } from '../pipeline/audio/stereo.js';
import { FileStepCache, noCache, type StepCache } from '../pipeline/cache/stepCache.js';
import { StembotError } from '../pipeline/errors.js';
import { InferenceThread } from '../pipeline/mdx/inferenceClient.js';
import { runKarafanRecipe } from '../pipeline/recipe/karafanRecipe.js';
import type { FinalStem } from '../pipeline/recipe/outputNames.js';
import { isPresetName, type Preset, PRESETS } from '../pipeline/recipe/presets.js';
import { writeOutputs } from '../pipeline/recipe/writeOutputs.js';
import { type ChosenEngine, chooseEngine, type EngineChoice } from '../pipeline/separators/chooseEngine.js';
import { cpuQuota } from '../system/cpuQuota.js';
import { ProgressBar } from './progressBar.js';

export const SEPARATE_USAGE = `Usage: stembot separate <input> [--out DIR] [--preset fast|balanced|best]
                        [--music-model ID|PATH] [--vocal-model ID|PATH] [--engine auto|mdx|repet]
                        [--format flac|wav|wav16|mp3|opus] [--stems vocals,music,bleed] [--debug]
                        [--no-cache] [--no-plot] [--json]

Runs the KaraFan v1.3 recipe (normalise → music model → subtract → vocal model [+ SRS] → gates → bleed) and
writes <out>/<input name>/ with "1 - NORMALIZED", "2 - Music_extract", "3 - Audio_sub_Music", "4_F - Vocals",
"5_F - Music", "6 - Bleeding_in_Music" (+ "4_A", "4_B" with --debug and SRS). --stems writes only those finals.
A picture, "spectrogram.png" (mixture / vocals / music, log frequency), is written beside them unless --no-plot.
Engine auto = the MDX models (default inst-hq-3 + kim-vocal-2) when installed, else the model-free engine.
Presets: fast (1 pass per model, no SRS, no denoise), balanced (SRS, denoise, 2 vocal shifts),
best (KaraFan v1.3 defaults: 6 music shifts, 12 vocal shifts, SRS with 2, denoise). --format wav = 32-bit float.`;

const ALL_FINALS: readonly FinalStem[] = ['vocals', 'music', 'bleed'];

/** The options that choose and tune the separation, shared with `stembot eval`. */
export const SEPARATION_OPTIONS = {
  preset: { type: 'string', default: 'balanced' },
  'music-model': { type: 'string' },
  'vocal-model': { type: 'string' },
  engine: { type: 'string', default: 'auto' },
  'no-cache': { type: 'boolean', default: false },
} as const;

export async function separateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o', default: 'separated' },
      ...SEPARATION_OPTIONS,
      format: { type: 'string', default: 'flac' },
      stems: { type: 'string' },
      debug: { type: 'boolean', default: false },
      'no-plot': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(SEPARATE_USAGE);
    return 0;
  }
  const [input] = positionals;
  if (!input || positionals.length > 1) {
    throw new StembotError('BAD_ARGUMENT', `separate takes one input file\n\n${SEPARATE_USAGE}`);
  }
  const preset = presetOf(values.preset);
  if (!(OUTPUT_FORMATS as readonly string[]).includes(values.format)) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `--format must be one of ${OUTPUT_FORMATS.join(', ')} (got "${values.format}")`,
    );
  }
  const engineChoice = engineChoiceOf(values.engine);
  const format = values.format as OutputFormat;
  const finals = parseStems(values.stems);

  const env = loadPipelineEnv();
  const tools = locateFfmpeg();
  const started = performance.now();
  // bad input fails before any model is loaded
  const decodeStarted = performance.now();
  const { audio } = await decodeAudio(tools, input, {
    maxDurationS: env.STEMBOT_MAX_DURATION_S,
    maxChannels: env.STEMBOT_MAX_CHANNELS,
  });
  const decodeSeconds = (performance.now() - decodeStarted) / 1000;

  const engine = await startEngine(env, engineChoice, values['music-model'], values['vocal-model']);
  try {
    if (engine.notice) console.error(engine.notice);
    const cache = stepCacheOf(env, values['no-cache']);
    const bar = new ProgressBar(`separating (${engine.engine}, ${preset.name})`);
    const result = await runKarafanRecipe(audio, {
      music: engine.music,
      vocals: engine.vocals,
      preset,
      cache,
      onProgress: ({ fraction }) => bar.update(Math.round(fraction * 1000), 1000),
    });
    bar.finish();

    const folder = resolve(values.out, basename(input, extname(input)));
    const outputs = await writeOutputs(tools, result, folder, {
      format,
      stems: finals,
      debug: values.debug,
      plot: !values['no-plot'],
    });
    const written = outputs.files.map((file) => file.path);
    const durationS = stereoDuration(audio);
    const totalSeconds = (performance.now() - started) / 1000;
    const processingSeconds = Object.values(result.timings).reduce((sum, s) => sum + (s ?? 0), 0);
    const stats = {
      input,
      outputDir: folder,
      files: written,
      picture: outputs.picture,
      engine: engine.engine,
      models: { music: engine.music.label, vocals: engine.vocals.label },
      device: engine.device,
      preset: preset.name,
      srs: result.srsUsed,
      durationS,
      seconds: {
        decode: decodeSeconds,
        ...result.timings,
        encode: outputs.encodeSeconds,
        plot: outputs.plotSeconds,
        total: totalSeconds,
      },
      realTimeFactor: processingSeconds / durationS,
      cacheHits: result.cacheHits,
      levels: {
        vocals: stemLevels(result.files['4_F']!),
        music: stemLevels(result.files['5_F']!),
        bleed: stemLevels(result.files['6']!),
      },
    };
    if (values.json) {
      console.log(JSON.stringify(stats));
    } else {
      console.error(
        `${written.length} files in ${folder}\n` +
          `${durationS.toFixed(1)} s of audio in ${totalSeconds.toFixed(1)} s (separation real-time factor ` +
          `${stats.realTimeFactor.toFixed(2)}), ${engine.engine} on ${engine.device}, preset ${preset.name}` +
          (result.cacheHits.length ? `, from cache: ${result.cacheHits.join(', ')}` : ''),
      );
    }
    return 0;
  } finally {
    await engine.thread?.close();
  }
}

/** --preset's value, checked. */
export function presetOf(name: string): Preset {
  if (!isPresetName(name)) {
    throw new StembotError('BAD_ARGUMENT', `--preset must be fast, balanced or best (got "${name}")`);
  }
  return PRESETS[name];
}

/** --engine's value, checked. */
export function engineChoiceOf(name: string): EngineChoice {
  if (!['auto', 'mdx', 'repet'].includes(name)) {
    throw new StembotError('BAD_ARGUMENT', `--engine must be auto, mdx or repet (got "${name}")`);
  }
  return name as EngineChoice;
}

/** chooseEngine with the environment's models folder and inference settings; close `thread` when done. */
export function startEngine(
  env: PipelineEnv,
  engine: EngineChoice,
  musicModel: string | undefined,
  vocalModel: string | undefined,
): Promise<ChosenEngine> {
  return chooseEngine({
    engine,
    musicModel,
    vocalModel,
    modelsDir: env.STEMBOT_MODELS_DIR,
    startThread: () =>
      new InferenceThread({ device: env.STEMBOT_DEVICE, threads: env.STEMBOT_THREADS || cpuQuota() }),
  });
}

/** The step cache of the recipe, or none with --no-cache. */
export function stepCacheOf(env: PipelineEnv, disabled: boolean): StepCache {
  return disabled ? noCache : new FileStepCache(cacheDirOf(env), env.STEMBOT_CACHE_MAX_MB * 1024 * 1024);
}

function parseStems(value: string | undefined): FinalStem[] | undefined {
  if (value === undefined) return undefined;
  const stems = value.split(',').map((stem) => stem.trim().toLowerCase());
  for (const stem of stems) {
    if (!(ALL_FINALS as readonly string[]).includes(stem)) {
      throw new StembotError('BAD_ARGUMENT', `--stems takes a list of vocals, music, bleed (got "${stem}")`);
    }
  }
  return [...new Set(stems)] as FinalStem[];
}
