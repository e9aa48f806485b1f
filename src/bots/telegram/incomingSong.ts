/**
 * Which song a Telegram message carries: an attached file, a link, or something the bot has to turn down with a
 * reason. Pure: nothing is downloaded here; the worker fetches the file or link itself (design §2).
 */
import type { Message } from 'grammy/types';

import { isAudioOrVideoFile } from '../core/audioFile.js';
import { findAudioLink } from '../core/findLink.js';

/** The Telegram attachment a song came as. */
export type SongKind = 'audio' | 'voice' | 'video' | 'video_note' | 'document';

/** An attached song as Telegram describes it; facts Telegram leaves out stay undefined. */
export interface IncomingSong {
  readonly kind: SongKind;
  /** for getFile; the worker resolves it to a download URL at job time */
  readonly fileId: string;
  /** the same for every copy of the file, across bots: the deduplication identity */
  readonly fileUniqueId: string;
  readonly fileName?: string;
  readonly sizeBytes?: number;
  readonly durationS?: number;
  readonly mimeType?: string;
  readonly title?: string;
  readonly performer?: string;
}

/** What the bot should do with a message: take a file, take a link, explain why not, or ignore it. */
export type SongPick =
  | { readonly kind: 'file'; readonly song: IncomingSong }
  | { readonly kind: 'link'; readonly url: string }
  /** `reason`: a sentence to show the user */
  | { readonly kind: 'not-audio'; readonly reason: string }
  | { readonly kind: 'none' };

/** What to send instead, after "Send" / "send". */
const WHAT_TO_SEND = 'a song as an audio file, a voice note, a video or a link';

/** Message contents that are never a song, checked in this order (before documents), with what to say. */
const NOT_SONGS: readonly (readonly [keyof Message, string])[] = [
  ['animation', 'A GIF has no sound'],
  ['photo', 'A photo has no sound'],
  ['sticker', 'A sticker has no sound'],
  ['live_photo', 'A live photo is not a song'],
  ['paid_media', 'Paid media is not something I can download'],
  ['story', 'A story is not something I can download'],
  ['contact', 'A contact is not a song'],
  ['location', 'A location is not a song'],
  ['venue', 'A venue is not a song'],
  ['poll', 'A poll is not a song'],
  ['dice', 'A dice roll is not a song'],
  ['game', 'A game is not a song'],
  ['checklist', 'A checklist is not a song'],
];

/**
 * The song in `message`. An audio, voice, video or video-note attachment, or a document that is audio or video
 * by MIME type (or by file name extension when the MIME type is missing or application/octet-stream), is taken
 * before any link. Then the first http(s) link: a `text_link` entity's target, else a URL in the text or caption.
 * Media that cannot be a song (a photo, a GIF, a non-audio document, …) without a link gets a reason; anything
 * else (plain chat, service messages) is `none`.
 */
export function pickSong(message: Message): SongPick {
  // An animation carries a `document` too (a silent MP4), which must not pass as a video.
  const song = message.animation ? null : attachedSong(message);
  if (song !== null) return { kind: 'file', song };
  const url = linkIn(message);
  if (url !== null) return { kind: 'link', url };
  for (const [field, what] of NOT_SONGS) if (message[field] !== undefined) return refuseAs(what);
  if (message.document) return refuseDocument(message.document);
  return { kind: 'none' };
}

function attachedSong(message: Message): IncomingSong | null {
  const { audio, voice, video, video_note: note, document } = message;
  if (audio) {
    return song('audio', audio, {
      fileName: audio.file_name,
      durationS: audio.duration,
      mimeType: audio.mime_type,
      title: audio.title,
      performer: audio.performer,
    });
  }
  if (voice) return song('voice', voice, { durationS: voice.duration, mimeType: voice.mime_type });
  if (video) {
    return song('video', video, {
      fileName: video.file_name,
      durationS: video.duration,
      mimeType: video.mime_type,
    });
  }
  if (note) return song('video_note', note, { durationS: note.duration });
  if (document && isAudioOrVideoFile(document.mime_type, document.file_name)) {
    return song('document', document, { fileName: document.file_name, mimeType: document.mime_type });
  }
  return null;
}

interface TelegramFile {
  readonly file_id: string;
  readonly file_unique_id: string;
  readonly file_size?: number;
}

/** The song with only the facts Telegram gave (no keys set to undefined). */
function song(
  kind: SongKind,
  file: TelegramFile,
  facts: Omit<IncomingSong, 'kind' | 'fileId' | 'fileUniqueId' | 'sizeBytes'>,
): IncomingSong {
  const known = Object.entries({ ...facts, sizeBytes: file.file_size }).filter(([, v]) => v !== undefined);
  return { kind, fileId: file.file_id, fileUniqueId: file.file_unique_id, ...Object.fromEntries(known) };
}

function refuseDocument(document: { readonly file_name?: string; readonly mime_type?: string }): SongPick {
  const name = document.file_name ? `“${document.file_name}”` : 'This file';
  const type = document.mime_type ? ` (${document.mime_type})` : '';
  return { kind: 'not-audio', reason: `${name}${type} is not audio or video. Send ${WHAT_TO_SEND}.` };
}

function refuseAs(what: string): SongPick {
  return { kind: 'not-audio', reason: `${what}: send ${WHAT_TO_SEND}.` };
}

function linkIn(message: Message): string | null {
  const entities = message.entities ?? message.caption_entities ?? [];
  for (const entity of entities) {
    if (entity.type !== 'text_link') continue;
    const url = httpUrl(entity.url);
    if (url !== null) return url;
  }
  const text = message.text ?? message.caption;
  return text === undefined ? null : findAudioLink(text);
}

/** `candidate` normalised when it is an http(s) URL with a host, else null (tg:, mailto:, …). */
function httpUrl(candidate: string): string | null {
  if (!URL.canParse(candidate)) return null;
  const url = new URL(candidate);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? url.href : null;
}
