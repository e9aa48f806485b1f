import { FORMAT_EXTENSIONS, type OutputFormat } from '../audio/encode.js';

/** The recipe's files, keyed as KaraFan v1.3 keys them (spec §A.1). */
export type RecipeFileKey = '1' | '2' | '3' | '4_A' | '4_B' | '4_F' | '5_F' | '6';

export const RECIPE_FILE_TITLES: Readonly<Record<RecipeFileKey, string>> = {
  '1': 'NORMALIZED',
  '2': 'Music_extract',
  '3': 'Audio_sub_Music',
  '4_A': 'Vocals_Narrow_Band',
  '4_B': 'Vocals_SRS',
  '4_F': 'Vocals',
  '5_F': 'Music',
  '6': 'Bleeding_in_Music',
};

/** The three finals a user asks for by name. */
export type FinalStem = 'vocals' | 'music' | 'bleed';
export const FINAL_STEM_KEYS: Readonly<Record<FinalStem, RecipeFileKey>> = {
  vocals: '4_F',
  music: '5_F',
  bleed: '6',
};

/** "2 - Music_extract.flac": KaraFan's DEBUG naming (key, " - ", title), which shows the order of the steps. */
export function recipeFileName(key: RecipeFileKey, format: OutputFormat): string {
  return `${key} - ${RECIPE_FILE_TITLES[key]}${FORMAT_EXTENSIONS[format]}`;
}
