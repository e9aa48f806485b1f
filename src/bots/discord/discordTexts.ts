import { formatBytes } from '../../format/formatBytes.js';

/** /help: what the bot does, both ways to hand it a song, and the upload limit that applies here. */
export function discordHelpText(attachmentSizeLimit: number | null): string {
  const limit = attachmentSizeLimit ? formatBytes(attachmentSizeLimit) : '10 MiB';
  return [
    '🎤 I split a song into **Vocals**, **Music** (the instrumental) and **Bleed** (what leaked between them), with the KaraFan recipe.',
    '',
    '**How to send a song**',
    '• `/separate song:` attach an audio or video file, or `/separate link:` paste a link;',
    '• or on any message with a song: right-click (long-press on a phone) → **Apps** → **Separate stems**.',
    '',
    'Options of /separate: `preset` (Fast, Balanced, Best), `stems` (which ones you get; Guide is the Music with the vocals 12 dB down, to sing along with), `format` (MP3, FLAC, WAV, Opus).',
    `You get the stems as files (up to ${limit} each here; bigger ones come smaller, or as download links), a spectrogram and the processing stats.`,
    'Press **Cancel** under the status message to stop a song you sent.',
    '',
    '**Sing over a track**: `/mix vocal: backing:` attach your recording and the backing track (the Music stem, say). I balance the levels, compress, EQ and add reverb timed to the song, and list every setting. `preset: Guide vocal` with `guide_db` instead lays the recording that much quieter with no processing (the Vocals stem over the Music stem makes a karaoke guide).',
  ].join('\n');
}

/** Said when a song command finds no song. */
export const NO_SONG_SLASH =
  'Attach a song with the `song` option (audio or video file) or paste a link in the `link` option.';
export const NO_SONG_MESSAGE =
  'This message has no audio or video file and no link. Use **Separate stems** on a message with a song.';
export const NO_MIX_FILES = 'Attach your recording in `vocal` and the backing track in `backing`.';
