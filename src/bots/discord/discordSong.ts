/**
 * Which song a Discord interaction points at: the `song` attachment or `link` option of /separate, or the first
 * audio/video attachment (else link) of the message a "Separate stems" command was run on. Pure: the worker
 * downloads the file itself (design §2).
 */
import { isAudioOrVideoFile } from '../core/audioFile.js';
import { findAudioLink } from '../core/findLink.js';

/** An attachment as Discord describes it (resolved.attachments, message.attachments). */
export interface DiscordAttachment {
  readonly id: string;
  readonly name: string;
  /** the signed CDN URL; it expires (platforms §2a), and the worker refreshes it when it has */
  readonly url: string;
  readonly size: number;
  readonly contentType: string | null;
  /** voice messages say how long they are */
  readonly durationS: number | null;
}

export type DiscordSongPick =
  | { readonly kind: 'file'; readonly attachment: DiscordAttachment }
  | { readonly kind: 'link'; readonly url: string }
  /** `reason`: a sentence to show the user */
  | { readonly kind: 'not-audio'; readonly reason: string }
  | { readonly kind: 'none' };

const WHAT_TO_SEND = 'an audio or video file (MP3, FLAC, WAV, M4A, OGG, MP4…) or a link to one';

/** From /separate's options: the attachment when given (it wins over a link), else the link. */
export function pickFromOptions(attachment: DiscordAttachment | null, link: string | null): DiscordSongPick {
  if (attachment) return fileOrRefusal(attachment);
  if (link !== null && link.trim() !== '') {
    const url = findAudioLink(link);
    return url !== null
      ? { kind: 'link', url }
      : {
          kind: 'not-audio',
          reason: `“${clip(link.trim(), 80)}” is not a link: it must start with https://.`,
        };
  }
  return { kind: 'none' };
}

/**
 * From a message: its first audio or video attachment, else the first link in its text, else (when it has
 * attachments, none of them a song) the reason the first one is not taken.
 */
export function pickFromMessage(attachments: readonly DiscordAttachment[], content: string): DiscordSongPick {
  const song = attachments.find((attachment) => isAudioOrVideoFile(attachment.contentType, attachment.name));
  if (song) return { kind: 'file', attachment: song };
  const url = findAudioLink(content);
  if (url !== null) return { kind: 'link', url };
  if (attachments.length > 0) return fileOrRefusal(attachments[0]);
  return { kind: 'none' };
}

function fileOrRefusal(attachment: DiscordAttachment): DiscordSongPick {
  if (isAudioOrVideoFile(attachment.contentType, attachment.name)) return { kind: 'file', attachment };
  const type = attachment.contentType ? ` (${attachment.contentType})` : '';
  return {
    kind: 'not-audio',
    reason: `“${clip(attachment.name, 80)}”${type} is not audio or video. Send ${WHAT_TO_SEND}.`,
  };
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
