/**
 * How the bots name presets, stems and formats to people, in one place so the Telegram keyboard, Discord's
 * command choices, status messages and file captions agree.
 */
import type { FinalStem } from '../../pipeline/recipe/outputNames.js';
import type { SeparationSettings } from '../../queue/jobSchema.js';

type Preset = SeparationSettings['preset'];
type Format = SeparationSettings['format'];

export const PRESETS: readonly Preset[] = ['fast', 'balanced', 'best'];
export const PRESET_NAMES: Readonly<Record<Preset, string>> = {
  fast: 'Fast',
  balanced: 'Balanced',
  best: 'Best',
};

/** The stems in the order they are listed and sent. */
export const STEM_ORDER: readonly FinalStem[] = ['vocals', 'music', 'bleed'];
export const STEM_NAMES: Readonly<Record<FinalStem, string>> = {
  vocals: 'Vocals',
  music: 'Music',
  bleed: 'Bleed',
};

export const FORMAT_NAMES: Readonly<Record<Format, string>> = {
  mp3: 'MP3',
  flac: 'FLAC',
  wav: 'WAV 32-bit float',
  wav16: 'WAV 16-bit',
  opus: 'Opus',
};

/** One line for people: 'Preset balanced · MP3 · Vocals, Music, Bleed'. */
export function describeSettings(settings: SeparationSettings): string {
  const stems = STEM_ORDER.filter((stem) => settings.stems.includes(stem)).map((stem) => STEM_NAMES[stem]);
  return `Preset ${settings.preset} · ${FORMAT_NAMES[settings.format]} · ${stems.join(', ')}`;
}
