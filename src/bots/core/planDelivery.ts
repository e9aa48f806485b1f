/**
 * Which format and bitrate the stems go out in, given the platform's upload limit (design §5 `core/`): send the
 * files in the chat when each one fits, stepping down a ladder of lossy encodings if needed; otherwise send lossy
 * previews if even those fit, plus a signed link to the requested format (platforms §4). Pure: no I/O.
 */
import { formatBytes } from '../../format/formatBytes.js';
import type { OutputFormat } from '../../pipeline/audio/encode.js';
import type { ResultStem } from '../../queue/delivery.js';

/** What a platform lets a bot send. */
export interface PlatformLimits {
  /** the largest single file the bot may upload, in bytes */
  readonly maxUploadBytes: number;
  /** attachments per message (a Telegram album, a Discord message) */
  readonly maxFilesPerMessage: number;
  /** formats the platform plays inline; the others still go, as plain documents */
  readonly audioFormats: readonly OutputFormat[];
}

/** Telegram also caps what a bot may download, and an album needs at least 2 items (1 goes by sendAudio). */
export interface TelegramLimits extends PlatformLimits {
  /** the largest file `getFile` hands a bot, in bytes; null: no limit */
  readonly maxDownloadBytes: number | null;
  /** sendMediaGroup takes 2–10 items */
  readonly minFilesPerAlbum: number;
}

const MB = 1_000_000;
const MIB = 1024 * 1024;

/**
 * Cloud Bot API (api.telegram.org). Uploads: 50 MB for files other than photos; `getFile` downloads: 20 MB
 * (core.telegram.org/bots/api#getfile and #sending-files; platforms §2b). Telegram says "MB" without saying
 * which; the decimal reading is the smaller one, so that is the one used. sendAudio plays only MP3 or M4A, and M4A
 * is not produced here, so only MP3 plays; FLAC, WAV and Ogg Opus go by sendDocument.
 */
export const TELEGRAM_CLOUD_LIMITS: TelegramLimits = {
  maxUploadBytes: 50 * MB,
  maxDownloadBytes: 20 * MB,
  maxFilesPerMessage: 10,
  minFilesPerAlbum: 2,
  audioFormats: ['mp3'],
};

/**
 * A local Bot API server (`telegram-bot-api --local`, tdlib/telegram-bot-api README; platforms §2b): uploads up
 * to 2000 MB, no download limit. The rest as in the cloud.
 */
export const TELEGRAM_LOCAL_LIMITS: TelegramLimits = {
  ...TELEGRAM_CLOUD_LIMITS,
  maxUploadBytes: 2000 * MB,
  maxDownloadBytes: null,
};

/**
 * Discord without boosts: 10 MiB per file (discord-api-docs `reference.mdx#uploading-files`), 10 attachments per
 * message (platforms §2a). The inline player takes MP3, Ogg Opus, FLAC and WAV. Prefer {@link discordLimits}
 * with the interaction's `attachmentSizeLimit`, which is what applies in that channel (boosts raise it).
 */
export const DISCORD_DEFAULT_LIMITS: PlatformLimits = {
  maxUploadBytes: 10 * MIB,
  maxFilesPerMessage: 10,
  audioFormats: ['mp3', 'opus', 'flac', 'wav', 'wav16'],
};

/** Discord's limits for one interaction: its `attachmentSizeLimit` (bytes) when known, else 10 MiB. */
export function discordLimits(attachmentSizeLimit?: number | null): PlatformLimits {
  if (attachmentSizeLimit == null || !(attachmentSizeLimit > 0)) return DISCORD_DEFAULT_LIMITS;
  return { ...DISCORD_DEFAULT_LIMITS, maxUploadBytes: attachmentSizeLimit };
}

/**
 * Share of the limit kept free: sizes below are estimates (FLAC and Opus vary with the music), and platforms
 * state limits loosely (MB or MiB, whether the multipart envelope counts). A file fits when its size, measured or
 * estimated, is at most `floor(maxUploadBytes × (1 − SIZE_MARGIN))` bytes, that bound included.
 */
export const SIZE_MARGIN = 0.05;

/** The most bytes one file may have under `limits`, after the safety margin. */
export function uploadBudget(limits: PlatformLimits, margin: number = SIZE_MARGIN): number {
  return Math.floor(limits.maxUploadBytes * (1 - margin));
}

/** A format at a bitrate; `bitrateKbps` only for the lossy ones (kbit/s, 1 kbit = 1000 bit). */
export interface Encoding {
  readonly format: OutputFormat;
  readonly bitrateKbps?: number;
}

/** What `encodeAudio` writes for the lossy formats today (src/pipeline/audio/encode.ts), kbit/s. */
export const ENCODER_DEFAULT_KBPS: Readonly<Record<'mp3' | 'opus', number>> = { mp3: 320, opus: 160 };

/**
 * Lossy steps tried, in order, when the requested format does not fit (platforms §4):
 * - MP3 first: it is what the other stem bots and MVSEP send (320 by default), and the only format Telegram's
 *   sendAudio plays; 320 fits Discord's 10 MiB only up to about 4 min, so 192 and 128 follow.
 * - Opus 96 last: about the size of MP3 at 96 but better sounding, and Discord plays it (Telegram does not, so
 *   it is skipped there). Below that a stem is no longer worth calling "the stems": a link is sent instead.
 * Splitting a stem across messages is never an option (platforms §4: fragile, hits the 10-file cap).
 */
export const NATIVE_LADDER: readonly Encoding[] = [
  { format: 'mp3', bitrateKbps: 320 },
  { format: 'mp3', bitrateKbps: 192 },
  { format: 'mp3', bitrateKbps: 128 },
  { format: 'opus', bitrateKbps: 96 },
];

/** Previews sent beside a link when nothing on {@link NATIVE_LADDER} fits: listenable, not the deliverable. */
export const PREVIEW_LADDER: readonly Encoding[] = [
  { format: 'mp3', bitrateKbps: 96 },
  { format: 'opus', bitrateKbps: 64 },
];

/** 44.1 kHz stereo: 16-bit PCM is 176 400 B/s, 32-bit float 352 800 B/s. */
const WAV16_BYTES_PER_S = 44_100 * 2 * 2;
const WAV32F_BYTES_PER_S = 44_100 * 2 * 4;
/** RIFF + fmt (extensible) + fact + data headers: about 80 bytes; rounded up. */
const WAV_HEADER_BYTES = 128;
/**
 * The encoder writes 24-bit FLAC. 16-bit FLAC of music is typically 50–70 % of WAV-16 (platforms §4); 0.6 is
 * used. The 8 extra bits of a float stem rounded to 24 bits are noise to FLAC's predictor, so they cost about
 * their full 8 bits × 2 channels × 44 100 Hz = 88 200 B/s. Together 194 040 B/s, about 0.73 × WAV-24.
 */
const FLAC24_BYTES_PER_S = 0.6 * WAV16_BYTES_PER_S + 44_100 * 2;
/** STREAMINFO, seek table, tags and the 8 KiB padding block ffmpeg writes; rounded up. */
const FLAC_HEADER_BYTES = 16 * 1024;
/** MP3 (CBR): 1 % for frame rounding, plus the Xing/LAME frame and an ID3v2 tag with a title. */
const MP3_FACTOR = 1.01;
/** Ogg Opus: Ogg pages cost about 0.5–1 %, and libopus VBR (ffmpeg's default) overshoots on dense music. */
const OPUS_FACTOR = 1.03;
const LOSSY_HEADER_BYTES = 16 * 1024;

/**
 * Estimated size in bytes of one 44.1 kHz stereo file of `durationS` seconds, rounded up. Lossy formats without
 * a bitrate take the encoder's default. Conservative by design: an overestimate costs quality, an
 * underestimate a failed upload.
 */
export function estimateBytes(encoding: Encoding, durationS: number): number {
  if (!(durationS >= 0) || !Number.isFinite(durationS)) {
    throw new RangeError(`duration must be a finite number of seconds ≥ 0, got ${durationS}`);
  }
  switch (encoding.format) {
    case 'wav16':
      return Math.ceil(WAV16_BYTES_PER_S * durationS) + WAV_HEADER_BYTES;
    case 'wav':
      return Math.ceil(WAV32F_BYTES_PER_S * durationS) + WAV_HEADER_BYTES;
    case 'flac':
      return Math.ceil(FLAC24_BYTES_PER_S * durationS) + FLAC_HEADER_BYTES;
    case 'mp3':
    case 'opus': {
      const kbps = encoding.bitrateKbps ?? ENCODER_DEFAULT_KBPS[encoding.format];
      const factor = encoding.format === 'mp3' ? MP3_FACTOR : OPUS_FACTOR;
      return Math.ceil(((kbps * 1000) / 8) * durationS * factor) + LOSSY_HEADER_BYTES;
    }
  }
}

/** One stem to send. */
export interface StemToDeliver {
  readonly stem: ResultStem;
  /** length of the audio, seconds */
  readonly durationS: number;
  /**
   * Measured sizes in bytes of files already encoded, by format, as `encodeAudio` writes them (lossy formats at
   * {@link ENCODER_DEFAULT_KBPS}); they replace the estimate for that encoding.
   */
  readonly bytesByFormat?: Readonly<Partial<Record<OutputFormat, number>>>;
}

export interface DeliveryInput {
  readonly stems: readonly StemToDeliver[];
  /** the format the user asked for */
  readonly format: OutputFormat;
  readonly limits: PlatformLimits;
  /** defaults to {@link SIZE_MARGIN} */
  readonly margin?: number;
}

/** Send the files in the chat. */
export interface NativePlan {
  readonly kind: 'native';
  readonly format: OutputFormat;
  /** kbit/s, for the lossy formats */
  readonly bitrateKbps?: number;
  readonly files: readonly StemToDeliver[];
  /** `files` in order, at most `maxFilesPerMessage` to a message */
  readonly groups: readonly (readonly StemToDeliver[])[];
  /** whether the platform plays this format inline (Telegram: sendAudio rather than sendDocument) */
  readonly playable: boolean;
  /** the requested format when this plan stepped down from it (a link to it may be offered), else null */
  readonly downgradedFrom: OutputFormat | null;
  /** the largest file, measured or estimated, bytes */
  readonly largestBytes: number;
}

/** Send previews (when `preview` is not null) and a signed link to the files in `format`. */
export interface LinkPlan {
  readonly kind: 'link';
  /** what the link serves: the requested format */
  readonly format: OutputFormat;
  readonly preview: (Encoding & { readonly bitrateKbps: number; readonly largestBytes: number }) | null;
  /** written for the user */
  readonly reason: string;
}

export type DeliveryPlan = NativePlan | LinkPlan;

/** Picks how to deliver: the first encoding whose every file fits, else a link (see the module comment). */
export function planDelivery(input: DeliveryInput): DeliveryPlan {
  const { stems, format, limits } = input;
  const budget = uploadBudget(limits, input.margin ?? SIZE_MARGIN);
  const requested = withDefaultBitrate({ format });
  const requestedBytes = largestFile(stems, requested);

  // After the request, only steps that make files smaller and play inline are worth a try.
  const ladder = [
    requested,
    ...NATIVE_LADDER.filter(
      (step) =>
        limits.audioFormats.includes(step.format) &&
        !sameEncoding(step, requested) &&
        largestFile(stems, step) < requestedBytes,
    ),
  ];
  for (const step of ladder) {
    const bytes = largestFile(stems, step);
    if (bytes > budget) continue;
    return {
      kind: 'native',
      ...step,
      files: stems,
      groups: chunk(stems, Math.max(1, limits.maxFilesPerMessage)),
      playable: limits.audioFormats.includes(step.format),
      downgradedFrom: step === requested ? null : format,
      largestBytes: bytes,
    };
  }

  const smallest = ladder[ladder.length - 1];
  const smallestBytes = largestFile(stems, smallest);
  const limitText = formatLimit(limits.maxUploadBytes);
  // Between the budget and the limit itself, "over the limit" would read wrong: the margin is what it misses.
  const relation = smallestBytes > limits.maxUploadBytes ? 'over' : 'too close to';
  const tooBig = `Even as ${describeEncoding(smallest)} each file would be about ${formatBytes(smallestBytes)}, ${relation} the ${limitText} this chat takes per file`;
  for (const step of PREVIEW_LADDER) {
    if (!limits.audioFormats.includes(step.format)) continue;
    const bytes = largestFile(stems, step);
    if (bytes > budget || bytes >= smallestBytes) continue;
    return {
      kind: 'link',
      format,
      preview: { format: step.format, bitrateKbps: step.bitrateKbps ?? 0, largestBytes: bytes },
      reason: `${tooBig}: here are ${describeEncoding(step)} previews, and a link to the ${describeEncoding(requested)} files.`,
    };
  }
  return {
    kind: 'link',
    format,
    preview: null,
    reason: `${tooBig}: here is a link to the ${describeEncoding(requested)} files.`,
  };
}

/** "MP3 320 kbit/s", "FLAC", "WAV (32-bit float)". */
export function describeEncoding(encoding: Encoding): string {
  const names: Record<OutputFormat, string> = {
    flac: 'FLAC',
    wav: 'WAV (32-bit float)',
    wav16: 'WAV (16-bit)',
    mp3: 'MP3',
    opus: 'Opus',
  };
  const name = names[encoding.format];
  return encoding.bitrateKbps === undefined ? name : `${name} ${encoding.bitrateKbps} kbit/s`;
}

/** A limit as the platform states it: "10 MiB" for Discord's binary sizes, "50 MB" for Telegram's. */
function formatLimit(bytes: number): string {
  if (bytes % MIB === 0 && bytes % MB !== 0) return `${bytes / MIB} MiB`;
  return formatBytes(bytes);
}

function withDefaultBitrate(encoding: Encoding): Encoding {
  if (encoding.format !== 'mp3' && encoding.format !== 'opus') return { format: encoding.format };
  return {
    format: encoding.format,
    bitrateKbps: encoding.bitrateKbps ?? ENCODER_DEFAULT_KBPS[encoding.format],
  };
}

function sameEncoding(a: Encoding, b: Encoding): boolean {
  return a.format === b.format && a.bitrateKbps === b.bitrateKbps;
}

/** The largest file of `stems` in `encoding`: measured when that file exists, else estimated. */
function largestFile(stems: readonly StemToDeliver[], encoding: Encoding): number {
  let largest = 0;
  for (const stem of stems) {
    largest = Math.max(largest, fileBytes(stem, encoding));
  }
  return largest;
}

function fileBytes(stem: StemToDeliver, encoding: Encoding): number {
  const measured = stem.bytesByFormat?.[encoding.format];
  const isEncoderDefault =
    encoding.format === 'mp3' || encoding.format === 'opus'
      ? encoding.bitrateKbps === undefined || encoding.bitrateKbps === ENCODER_DEFAULT_KBPS[encoding.format]
      : true;
  if (measured !== undefined && isEncoderDefault) return measured;
  return estimateBytes(encoding, stem.durationS);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
