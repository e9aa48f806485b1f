import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { writeSpectrogramPng } from '../analysis/spectrogramImage.js';
import { encodeAudio, type OutputFormat } from '../audio/encode.js';
import type { FfmpegTools } from '../audio/ffmpeg.js';
import type { RecipeResult } from './karafanRecipe.js';
import { FINAL_STEM_KEYS, type FinalStem, type RecipeFileKey, recipeFileName } from './outputNames.js';

/** The picture a chat reply carries (issue 3 item 7), written beside the stems. */
export const SPECTROGRAM_FILE = 'spectrogram.png';

export interface OutputChoice {
  readonly format: OutputFormat;
  /** only these finals; undefined = every file of spec §A.1's table */
  readonly stems?: readonly FinalStem[];
  /** also 4_A and 4_B (when SRS ran) */
  readonly debug?: boolean;
  readonly plot: boolean;
}

export interface WrittenOutputs {
  /** audio files, in the recipe's order */
  readonly files: readonly { readonly key: RecipeFileKey; readonly path: string }[];
  readonly picture: string | null;
  readonly encodeSeconds: number;
  readonly plotSeconds: number;
}

/** Which recipe files a request asks for, in the table's order (spec §A.1). */
export function outputKeys(result: RecipeResult, choice: OutputChoice): RecipeFileKey[] {
  if (choice.stems) return choice.stems.map((stem) => FINAL_STEM_KEYS[stem]);
  const debugKeys: RecipeFileKey[] = choice.debug && result.srsUsed ? ['4_A', '4_B'] : [];
  return ['1', '2', '3', ...debugKeys, '4_F', '5_F', '6'];
}

/** Encodes the chosen files into `folder` (created if needed) and draws the spectrogram picture. */
export async function writeOutputs(
  tools: FfmpegTools,
  result: RecipeResult,
  folder: string,
  choice: OutputChoice,
): Promise<WrittenOutputs> {
  await mkdir(folder, { recursive: true });
  const encodeStarted = performance.now();
  const files: { key: RecipeFileKey; path: string }[] = [];
  for (const key of outputKeys(result, choice)) {
    const audio = result.files[key];
    if (!audio) continue;
    const path = join(folder, recipeFileName(key, choice.format));
    await encodeAudio(tools, audio, path, choice.format);
    files.push({ key, path });
  }
  const encodeSeconds = (performance.now() - encodeStarted) / 1000;
  const plotStarted = performance.now();
  let picture: string | null = null;
  if (choice.plot) {
    picture = join(folder, SPECTROGRAM_FILE);
    await writeSpectrogramPng(picture, [
      { label: 'MIXTURE', audio: result.files['1']! },
      { label: 'VOCALS', audio: result.files['4_F']! },
      { label: 'MUSIC', audio: result.files['5_F']! },
    ]);
  }
  return { files, picture, encodeSeconds, plotSeconds: (performance.now() - plotStarted) / 1000 };
}
