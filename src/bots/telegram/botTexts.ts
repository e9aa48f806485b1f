import { formatBytes } from '../../format/formatBytes.js';
import type { TelegramLimits } from '../core/planDelivery.js';

/** /start and /help: what the bot does, every way to hand it a song, and the limits that apply here. */
export function helpText(limits: TelegramLimits): string {
  const download = limits.maxDownloadBytes
    ? `Files up to ${formatBytes(limits.maxDownloadBytes)} (Telegram's limit for bots); for bigger ones send a link.`
    : 'Files of any size Telegram carries, or a link.';
  return [
    '🎤 I split a song into Vocals, Music (the instrumental) and Bleed (what leaked between them), with the KaraFan recipe.',
    '',
    'How to send a song:',
    '• here: send an audio file, a voice note, a video, a file (MP3, FLAC, WAV, M4A, OGG…) or a link;',
    '• in a group: reply /separate to the message with the song, or write /separate followed by a link.',
    '',
    'You get the stems as audio files, a spectrogram and the processing stats.',
    download,
    '',
    '/settings: preset (fast, balanced, best), which stems, format (MP3, FLAC, WAV, Opus). Guide is a karaoke track: the Music with the vocals 12 dB down, to sing along with.',
    'After /separate you can also write them for one song: /separate best flac vocals',
    '/cancel: cancel your songs in progress in this chat.',
    '',
    '🎚️ Sing over a track: reply to the backing track (the Music stem, say) with your recording as an audio file captioned /mix, or here with a voice note. I balance the levels, compress, EQ and add reverb timed to the song, and tell you every setting. /mix guide 12 instead lays the recording 12 dB quieter with no processing: send the Vocals stem over the Music stem for a karaoke guide vocal.',
  ].join('\n');
}
