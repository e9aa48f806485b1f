/**
 * Whether a chat attachment is audio or video, from what the platform says about it (Telegram documents, Discord
 * attachments). Pure; the worker's probe has the last word on what is inside.
 */

/** File name extensions taken as audio or video when the platform gives no useful MIME type. */
export const AUDIO_VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  'mp3',
  'm4a',
  'aac',
  'flac',
  'wav',
  'wave',
  'aif',
  'aiff',
  'ogg',
  'oga',
  'opus',
  'wma',
  'webm',
  'mp4',
  'mkv',
  'mov',
  'avi',
  'alac',
  'ape',
  'wv',
  'mka',
  'm4v',
  '3gp',
  'amr',
]);

/**
 * True for an audio or video MIME type (or Ogg); when the type is missing or application/octet-stream, the file
 * name extension decides.
 */
export function isAudioOrVideoFile(
  mimeType: string | null | undefined,
  fileName: string | null | undefined,
): boolean {
  const mime = mimeType?.split(';')[0].trim().toLowerCase();
  if (mime !== undefined && mime !== '' && mime !== 'application/octet-stream') {
    return mime.startsWith('audio/') || mime.startsWith('video/') || mime === 'application/ogg';
  }
  return AUDIO_VIDEO_EXTENSIONS.has(extensionOf(fileName) ?? '');
}

/** The lower-case extension of a file name, without the dot; null when there is none. */
function extensionOf(fileName: string | null | undefined): string | null {
  return fileName?.match(/\.([^./\\]+)$/)?.[1]?.toLowerCase() ?? null;
}
