/**
 * The words a user writes after /mix ("/mix guide 9 flac"): the mixer preset, the guide vocal's level and the
 * file format. Pure: the bot merges the result into the user's defaults.
 */
import type { MixSettings, SeparationSettings } from '../../queue/jobSchema.js';
import { COMMAND_WORD, EDGE_PUNCTUATION, formatNamed } from './settingsArgs.js';

export interface ParsedMixArgs {
  readonly mix: Partial<MixSettings>;
  readonly format?: SeparationSettings['format'];
  /** words that meant nothing, as written */
  readonly unknown: readonly string[];
}

/** "12", "-12", "−12", "12db", "12 dB" (the unit as its own word is skipped): how far under the vocal goes. */
const DECIBELS = /^[-−]?(\d{1,2}(?:[.,]\d+)?)(?:db)?$/i;
/** The most a guide vocal is turned down, dB (jobSchema's bound). */
const MAX_GUIDE_DB = 40;

/**
 * Reads `auto` / `guide` (also `karaoke-guide`, `guide-vocal`), a number of dB for the guide vocal (which
 * implies `guide`), and a format word (as /separate reads it); the last of each counts. A leading command word
 * and links (the recording, read by the song picker) are skipped; everything else is unknown, including a level
 * above 40 dB.
 */
export function parseMixArgs(text: string): ParsedMixArgs {
  const words = text.split(/[\s,]+/).filter((word) => word !== '');
  if (words.length > 0 && COMMAND_WORD.test(words[0])) words.shift();
  const mix: { -readonly [K in keyof MixSettings]?: MixSettings[K] } = {};
  let format: SeparationSettings['format'] | undefined;
  const unknown: string[] = [];
  for (const word of words) {
    if (/https?:\/\//i.test(word)) continue; // a link is the recording itself (the bot's song picker reads it)
    const term = word.replace(EDGE_PUNCTUATION, '');
    const key = term.toLowerCase();
    const level = DECIBELS.exec(key);
    if (key === 'auto' || key === 'automatic') mix.preset = 'auto';
    else if (key === 'guide' || key === 'guide-vocal' || key === 'karaoke-guide') mix.preset = 'guide';
    else if (key === 'db') continue;
    else if (level && Number(level[1].replace(',', '.')) <= MAX_GUIDE_DB) {
      mix.preset = 'guide';
      mix.guideDb = Number(level[1].replace(',', '.'));
    } else if (formatNamed(key) !== undefined) format = formatNamed(key);
    else if (term !== '') unknown.push(term);
  }
  return { mix, ...(format ? { format } : {}), unknown };
}
