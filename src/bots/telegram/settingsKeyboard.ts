/**
 * The inline keyboard under "/settings" that lets a Telegram user pick a preset, the stems and the format with
 * taps instead of typed words. Pure apart from grammY's InlineKeyboard builder: the bot saves what it returns.
 */
import { InlineKeyboard } from 'grammy';

import type { SeparationSettings, StemChoice } from '../../queue/jobSchema.js';
import { PRESET_NAMES, PRESETS, STEM_NAMES, STEM_ORDER } from '../core/settingsNames.js';

/** The start of every callback_data this keyboard sends, so the bot can route the taps here. */
export const SETTINGS_CALLBACK_PREFIX = 'set:';

/** One tap on the keyboard. */
export type SettingsChange =
  | { readonly kind: 'preset'; readonly preset: SeparationSettings['preset'] }
  | { readonly kind: 'stem'; readonly stem: StemChoice }
  | { readonly kind: 'format'; readonly format: SeparationSettings['format'] }
  | { readonly kind: 'done' };

type Preset = SeparationSettings['preset'];
type Format = SeparationSettings['format'];

const PRESET_LABELS: readonly (readonly [Preset, string])[] = PRESETS.map((preset) => [
  preset,
  PRESET_NAMES[preset],
]);
const STEM_LABELS: readonly (readonly [StemChoice, string])[] = STEM_ORDER.map((stem) => [
  stem,
  STEM_NAMES[stem],
]);
/** Format buttons, a row each: the lossy and lossless everyday ones, then the two WAVs. */
const FORMAT_ROWS: readonly (readonly (readonly [Format, string])[])[] = [
  [
    ['mp3', 'MP3'],
    ['flac', 'FLAC'],
    ['opus', 'Opus'],
  ],
  [
    ['wav16', 'WAV 16-bit'],
    ['wav', 'WAV 32-bit float'],
  ],
];
const CHOSEN = '✅ ';
const STEM_OFF = '▫️ ';

/**
 * The keyboard for `settings`: presets, stem toggles, formats (two rows), then Done. The current preset and
 * format and the stems that are on are marked ✅; stems that are off ▫️. Callback data: 'set:preset:best',
 * 'set:stem:vocals', 'set:format:flac', 'set:done', all well under Telegram's 64 bytes.
 */
export function settingsKeyboard(settings: SeparationSettings): InlineKeyboard {
  const keyboard = new InlineKeyboard();
  for (const [preset, label] of PRESET_LABELS) {
    keyboard.text(mark(settings.preset === preset, label), callbackData({ kind: 'preset', preset }));
  }
  keyboard.row();
  for (const [stem, label] of STEM_LABELS) {
    const on = settings.stems.includes(stem);
    keyboard.text(`${on ? CHOSEN : STEM_OFF}${label}`, callbackData({ kind: 'stem', stem }));
  }
  for (const row of FORMAT_ROWS) {
    keyboard.row();
    for (const [format, label] of row) {
      keyboard.text(mark(settings.format === format, label), callbackData({ kind: 'format', format }));
    }
  }
  return keyboard.row().text('Done', callbackData({ kind: 'done' }));
}

/** The change a button's callback data asks for; null for anything malformed, unknown or not ours. */
export function parseSettingsCallback(data: string): SettingsChange | null {
  if (!data.startsWith(SETTINGS_CALLBACK_PREFIX)) return null;
  const [kind, value, ...rest] = data.slice(SETTINGS_CALLBACK_PREFIX.length).split(':');
  if (rest.length > 0) return null;
  if (kind === 'done') return value === undefined ? { kind: 'done' } : null;
  if (kind === 'preset') {
    const preset = PRESET_LABELS.find(([name]) => name === value)?.[0];
    return preset === undefined ? null : { kind: 'preset', preset };
  }
  if (kind === 'stem') {
    const stem = STEM_ORDER.find((name) => name === value);
    return stem === undefined ? null : { kind: 'stem', stem };
  }
  if (kind === 'format') {
    const format = FORMAT_ROWS.flat().find(([name]) => name === value)?.[0];
    return format === undefined ? null : { kind: 'format', format };
  }
  return null;
}

/**
 * `settings` after one tap. A stem tap toggles it, stems kept in the order vocals, music, bleed; turning off the
 * last stem that is on is refused with the notice 'Keep at least one stem.' (a job needs one). 'done' changes
 * nothing.
 */
export function applySettingsChange(
  settings: SeparationSettings,
  change: SettingsChange,
): { readonly settings: SeparationSettings; readonly notice?: string } {
  switch (change.kind) {
    case 'preset':
      return { settings: { ...settings, preset: change.preset } };
    case 'format':
      return { settings: { ...settings, format: change.format } };
    case 'stem': {
      const on = new Set(settings.stems);
      if (on.has(change.stem)) on.delete(change.stem);
      else on.add(change.stem);
      if (on.size === 0) return { settings, notice: 'Keep at least one stem.' };
      return { settings: { ...settings, stems: STEM_ORDER.filter((stem) => on.has(stem)) } };
    }
    case 'done':
      return { settings };
  }
}

function callbackData(change: SettingsChange): string {
  switch (change.kind) {
    case 'preset':
      return `${SETTINGS_CALLBACK_PREFIX}preset:${change.preset}`;
    case 'stem':
      return `${SETTINGS_CALLBACK_PREFIX}stem:${change.stem}`;
    case 'format':
      return `${SETTINGS_CALLBACK_PREFIX}format:${change.format}`;
    case 'done':
      return `${SETTINGS_CALLBACK_PREFIX}done`;
  }
}

function mark(chosen: boolean, label: string): string {
  return chosen ? `${CHOSEN}${label}` : label;
}
