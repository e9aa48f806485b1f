import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { decodeAudio } from '../../pipeline/audio/decode.js';
import { encodeAudio, FORMAT_EXTENSIONS } from '../../pipeline/audio/encode.js';
import type { FfmpegTools } from '../../pipeline/audio/ffmpeg.js';
import type { DeliveredFile } from '../../queue/delivery.js';
import type { Encoding } from './planDelivery.js';

/**
 * The stems again in a smaller encoding (delivery plans step down a bitrate ladder to fit a chat's upload
 * limit). Each file is decoded and encoded again into `folder`, named as before with the new extension. From a
 * lossless request this loses nothing more than the lossy encoding itself; from MP3 320 it is a second lossy
 * generation, which at the bitrates of the ladder is not audible to most listeners.
 */
export async function reencodeFiles(
  tools: FfmpegTools,
  files: readonly DeliveredFile[],
  encoding: Encoding,
  folder: string,
): Promise<DeliveredFile[]> {
  const out: DeliveredFile[] = [];
  for (const file of files) {
    // the stems came out of our own pipeline: no duration or channel limit applies to them
    const { audio } = await decodeAudio(tools, file.path, { maxDurationS: Infinity, maxChannels: 2 });
    const name = file.name.replace(/\.[^.]+$/, '') + FORMAT_EXTENSIONS[encoding.format];
    const path = join(folder, `${file.stem}${FORMAT_EXTENSIONS[encoding.format]}`);
    await encodeAudio(tools, audio, path, encoding.format, { bitrateKbps: encoding.bitrateKbps });
    const { size } = await stat(path);
    out.push({ stem: file.stem, path, name, bytes: size });
  }
  return out;
}
