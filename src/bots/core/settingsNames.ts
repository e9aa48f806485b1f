/**
 * How the bots name presets, stems and formats to people, in one place so the Telegram keyboard, Discord's
 * command choices, status messages and file captions agree.
 */
import type { ResultStem } from '../../queue/delivery.js';
import type { MixSettings, SeparationSettings, StemChoice } from '../../queue/jobSchema.js';

type Preset = SeparationSettings['preset'];
type Format = SeparationSettings['format'];

export const PRESETS: readonly Preset[] = ['fast', 'balanced', 'best'];
export const PRESET_NAMES: Readonly<Record<Preset, string>> = {
  fast: 'Fast',
  balanced: 'Balanced',
  best: 'Best',
};

/** The stems in the order they are listed and sent. */
export const STEM_ORDER: readonly StemChoice[] = ['vocals', 'music', 'bleed', 'guide'];
export const STEM_NAMES: Readonly<Record<ResultStem, string>> = {
  vocals: 'Vocals',
  music: 'Music',
  bleed: 'Bleed',
  guide: 'Guide',
  mix: 'Mix',
};

export const FORMAT_NAMES: Readonly<Record<Format, string>> = {
  mp3: 'MP3',
  flac: 'FLAC',
  wav: 'WAV 32-bit float',
  wav16: 'WAV 16-bit',
  opus: 'Opus',
};

/** One line for people: 'Preset balanced · MP3 · Vocals, Music, Bleed' (', Guide −12 dB' with the guide). */
export function describeSettings(settings: SeparationSettings): string {
  const stems = STEM_ORDER.filter((stem) => settings.stems.includes(stem)).map((stem) =>
    stem === 'guide' ? `${STEM_NAMES.guide} −${settings.guideDb} dB` : STEM_NAMES[stem],
  );
  return `Preset ${settings.preset} · ${FORMAT_NAMES[settings.format]} · ${stems.join(', ')}`;
}

/** One line for people: 'Mix: automatic · MP3' or 'Mix: guide vocal −12 dB · FLAC'. */
export function describeMix(mix: MixSettings, format: Format): string {
  const how = mix.preset === 'auto' ? 'automatic' : `guide vocal −${mix.guideDb} dB`;
  return `Mix: ${how} · ${FORMAT_NAMES[format]}`;
}

/** The settings line of a job's status message: a separation's settings, or a mix's. */
export function describeJob(job: {
  readonly settings: SeparationSettings;
  readonly mix?: { readonly settings: MixSettings };
}): string {
  return job.mix ? describeMix(job.mix.settings, job.settings.format) : describeSettings(job.settings);
}
