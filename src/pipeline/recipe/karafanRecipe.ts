import { fitLength, type Stereo, subtractStereo as subtract } from '../audio/stereo.js';
import { srsCrossover } from '../dsp/crossover.js';
import { normalize } from '../dsp/normalize.js';
import { silentGate } from '../dsp/silentGate.js';
import { hashAudio, noCache, type StepCache, stepCacheKey } from '../cache/stepCache.js';
import type { ExtractPass, StemExtractor } from '../separators/stemExtractor.js';
import type { RecipeFileKey } from './outputNames.js';
import type { Preset } from './presets.js';

/**
 * The KaraFan v1.3 recipe, eight steps (spec §A.2), over any two extractors:
 *   1 x = normalize(song)                      5 v = Extract(vocal model, s) [+ SRS pass, 14 kHz crossover]
 *   2 m = Extract(music model, x) · comp      6 vocals = Silent(v, −50 dB)
 *   3 (compensation is inside Extract)         7 music = Silent(x − vocals, −61 dB)
 *   4 s = Silent(x − m, −50 dB)                8 bleed = music − m
 * Pure: audio in, audio out; progress and timings are reported, nothing is written.
 */

// spec §A.2 steps 4, 6 and 7: the Silent thresholds (−61 dB for the final music, not −50)
const SUBTRACT_GATE_DB = -50;
const VOCALS_GATE_DB = -50;
const MUSIC_GATE_DB = -61;

export type RecipeStep = 'normalize' | 'music' | 'subtract' | 'vocals' | 'vocals_srs' | 'finals';

export interface RecipeProgress {
  readonly step: RecipeStep;
  /** of the whole recipe, 0..1, weighted by model passes */
  readonly fraction: number;
}

export interface RecipeOptions {
  readonly music: StemExtractor;
  readonly vocals: StemExtractor;
  readonly preset: Preset;
  readonly cache?: StepCache;
  readonly onProgress?: (progress: RecipeProgress) => void;
}

export interface RecipeResult {
  readonly files: Partial<Record<RecipeFileKey, Stereo>>;
  /** seconds per step */
  readonly timings: Partial<Record<RecipeStep, number>>;
  /** model steps answered from the cache */
  readonly cacheHits: readonly RecipeStep[];
  readonly srsUsed: boolean;
}

export async function runKarafanRecipe(song: Stereo, options: RecipeOptions): Promise<RecipeResult> {
  const { music, vocals, preset } = options;
  const cache = options.cache ?? noCache;
  const timings: Partial<Record<RecipeStep, number>> = {};
  const cacheHits: RecipeStep[] = [];
  const srsUsed = preset.srs && vocals.supportsSrs;

  const musicPass: ExtractPass = {
    shifts: preset.musicShifts,
    denoise: preset.denoise,
    srs: false,
    chunkSize: preset.chunkSize,
  };
  const vocalPass: ExtractPass = {
    shifts: preset.vocalShifts,
    denoise: preset.denoise,
    srs: false,
    chunkSize: preset.chunkSize,
  };
  const srsPass: ExtractPass = {
    shifts: preset.srsShifts,
    denoise: preset.denoise,
    srs: true,
    chunkSize: preset.chunkSize,
  };

  // progress weights: passes over the song each model step makes (denoise doubles, SRS audio is 1.25× longer)
  const passes = (pass: ExtractPass) => pass.shifts * (pass.denoise ? 2 : 1) * (pass.srs ? 1.25 : 1);
  const weights: Partial<Record<RecipeStep, number>> = {
    music: passes(musicPass),
    vocals: passes(vocalPass),
    vocals_srs: srsUsed ? passes(srsPass) : 0,
  };
  const totalWeight = (weights.music ?? 0) + (weights.vocals ?? 0) + (weights.vocals_srs ?? 0) || 1;
  let completedWeight = 0;
  const report = (step: RecipeStep, fraction: number) =>
    options.onProgress?.({
      step,
      fraction: (completedWeight + (weights[step] ?? 0) * fraction) / totalWeight,
    });

  const timed = async <T>(step: RecipeStep, work: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    report(step, 0);
    const result = await work();
    timings[step] = (timings[step] ?? 0) + (performance.now() - started) / 1000;
    completedWeight += weights[step] ?? 0;
    report(step, 0);
    return result;
  };

  const extractStep = (step: RecipeStep, extractor: StemExtractor, input: Stereo, pass: ExtractPass) =>
    timed(step, async () => {
      const key = stepCacheKey({ step, engine: extractor.cacheId, pass, input: hashAudio(input) });
      const cached = await cache.get(key);
      if (cached) {
        cacheHits.push(step);
        return cached;
      }
      const estimate = await extractor.extract(input, pass, (fraction) => report(step, fraction));
      await cache.set(key, estimate);
      return estimate;
    });

  const x = await timed('normalize', () => normalize(song)); // step 1
  const m = await extractStep('music', music, x, musicPass); // steps 2–3
  const s = await timed('subtract', () => silentGate(subtract(x, m), SUBTRACT_GATE_DB)); // step 4
  const vNarrow = await extractStep('vocals', vocals, s, vocalPass); // step 5
  let v = vNarrow;
  let vSrs: Stereo | undefined;
  if (srsUsed) {
    vSrs = fitLength(await extractStep('vocals_srs', vocals, s, srsPass), vNarrow.left.length);
    v = srsCrossover(vNarrow, vSrs);
  }
  const finals = await timed('finals', () => {
    const vocalsFinal = silentGate(v, VOCALS_GATE_DB); // step 6
    const musicFinal = silentGate(subtract(x, vocalsFinal), MUSIC_GATE_DB); // step 7
    return { vocalsFinal, musicFinal, bleed: subtract(musicFinal, m) }; // step 8
  });

  const files: Partial<Record<RecipeFileKey, Stereo>> = {
    '1': x,
    '2': m,
    '3': s,
    '4_F': finals.vocalsFinal,
    '5_F': finals.musicFinal,
    '6': finals.bleed,
  };
  if (vSrs) {
    files['4_A'] = vNarrow;
    files['4_B'] = vSrs;
  }
  return { files, timings, cacheHits, srsUsed };
}
