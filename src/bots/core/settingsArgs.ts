/**
 * The settings a user writes after a command ("/separate best flac karaoke https://…"), so one message can ask
 * for a song and say how it should be separated. Pure: the bot merges the result into the user's defaults.
 */
import type { SeparationSettings, StemChoice } from '../../queue/jobSchema.js';
import { findAudioLink } from './findLink.js';
import { STEM_ORDER } from './settingsNames.js';

/** What the words after a command asked for. */
export interface ParsedArgs {
  /** only what the words named; the rest comes from the user's defaults */
  readonly settings: Partial<SeparationSettings>;
  /** the first http(s) link, normalised */
  readonly link: string | null;
  /** words that meant nothing, as written, so the bot can say "I did not understand …" */
  readonly unknown: readonly string[];
}

// Maps, not objects: a word such as "constructor" must not find anything.
const PRESETS: ReadonlyMap<string, SeparationSettings['preset']> = new Map([
  ['fast', 'fast'],
  ['balanced', 'balanced'],
  ['best', 'best'],
]);

const FORMATS: ReadonlyMap<string, SeparationSettings['format']> = new Map([
  ['mp3', 'mp3'],
  ['flac', 'flac'],
  ['wav', 'wav'],
  ['wav32', 'wav'],
  ['wav-float', 'wav'],
  ['wav16', 'wav16'],
  ['opus', 'opus'],
  ['ogg', 'opus'],
]);

/** The format a word names (mp3, flac, wav, wav16, opus and their aliases), case-insensitive. */
export function formatNamed(word: string): SeparationSettings['format'] | undefined {
  return FORMATS.get(word.toLowerCase());
}

const STEMS: ReadonlyMap<string, StemChoice> = new Map([
  ['vocals', 'vocals'],
  ['vocal', 'vocals'],
  ['voice', 'vocals'],
  ['acapella', 'vocals'],
  ['music', 'music'],
  ['instrumental', 'music'],
  ['inst', 'music'],
  ['karaoke', 'music'],
  ['bleed', 'bleed'],
  ['guide', 'guide'],
  ['guide-vocal', 'guide'],
]);

/** "/separate" or "/separate@somebot" */
export const COMMAND_WORD = /^\/[a-z0-9_]+(?:@[a-z0-9_]+)?$/i;
/** sentence punctuation around a word ("best," is split on the comma; "best." loses the dot) */
export const EDGE_PUNCTUATION = /^[.;:!?]+|[.;:!?]+$/g;

/**
 * Reads preset names (fast, balanced, best), formats (mp3, flac, wav, wav16, opus; ogg → opus, wav32 and
 * wav-float → wav) and stems (vocals, music, bleed; instrumental, inst and karaoke → music; vocal, voice and
 * acapella → vocals), case-insensitive, separated by spaces or commas. Several stem words ask for that set, in
 * the order vocals, music, bleed; of several presets or formats the last counts. The first http(s) link is the
 * link; later links and every other word are unknown. A leading command word is skipped.
 */
export function parseSettingsArgs(text: string): ParsedArgs {
  const words = text.split(/\s+/).filter((word) => word !== '');
  if (words.length > 0 && COMMAND_WORD.test(words[0])) words.shift();

  const settings: { -readonly [K in keyof SeparationSettings]?: SeparationSettings[K] } = {};
  const stems = new Set<StemChoice>();
  const unknown: string[] = [];
  let link: string | null = null;

  for (const word of words) {
    // A URL is one word even with commas in it.
    if (/https?:\/\//i.test(word)) {
      const url = findAudioLink(word);
      if (url !== null && link === null) link = url;
      else unknown.push(word);
      continue;
    }
    for (const piece of word.split(',')) {
      const term = piece.replace(EDGE_PUNCTUATION, '');
      if (term === '') continue;
      const key = term.toLowerCase();
      const preset = PRESETS.get(key);
      const format = FORMATS.get(key);
      const stem = STEMS.get(key);
      if (preset !== undefined) settings.preset = preset;
      else if (format !== undefined) settings.format = format;
      else if (stem !== undefined) stems.add(stem);
      else unknown.push(term);
    }
  }
  if (stems.size > 0) settings.stems = STEM_ORDER.filter((stem) => stems.has(stem));
  return { settings, link, unknown };
}
