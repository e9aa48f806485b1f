/**
 * The intake checks a bot makes before it queues a song, from what the platform says about the file, so a user
 * hears at once that a song is too big or too long instead of after a download. Platform-neutral and pure.
 */
import { formatBytes } from '../../format/formatBytes.js';
import { formatClock } from './statusText.js';

/** What a bot checks a request against before queueing it (from the queue's environment). */
export interface IntakeLimits {
  readonly maxInputBytes: number;
  readonly maxDurationS: number;
  /** STEMBOT_ALLOW_PRIVATE_URLS: links to private addresses are accepted (tests, private deployments) */
  readonly allowPrivateUrls: boolean;
}

/** What the platform told us about a song before download; absent when it did not say. */
export interface SongFacts {
  readonly sizeBytes?: number;
  readonly durationS?: number;
}

/** The limits a song must be within to be queued. */
export interface SongLimits {
  /** the most the bot may download from the platform (Telegram cloud: 20 MB); null: no such limit */
  readonly maxDownloadBytes: number | null;
  /** the largest input the worker takes, from any source */
  readonly maxInputBytes: number;
  readonly maxDurationS: number;
  /** e.g. 'Telegram lets bots download files up to 20 MB' */
  readonly downloadLimitNote?: string;
}

/** Why a song is turned down, with a sentence that tells the user what to do instead. */
export type LimitRefusal = { readonly reason: 'too-big' | 'too-long'; readonly message: string };

/**
 * Null when the song may be queued, else why not. A size or duration exactly at its limit passes; unknown (or
 * non-finite) facts pass too, because the worker checks the downloaded file again. The worker's input limit is
 * checked before the platform's download limit, so a user is told to send a link only when a link would do.
 */
export function checkSongLimits(facts: SongFacts, limits: SongLimits): LimitRefusal | null {
  const size = known(facts.sizeBytes);
  if (size !== null && size > limits.maxInputBytes) {
    return {
      reason: 'too-big',
      message: `This file is ${formatBytes(size)}; the largest song I take is ${formatBytes(limits.maxInputBytes)}.`,
    };
  }
  if (size !== null && limits.maxDownloadBytes !== null && size > limits.maxDownloadBytes) {
    const limit =
      limits.downloadLimitNote ?? `I can download files up to ${formatBytes(limits.maxDownloadBytes)} here`;
    return {
      reason: 'too-big',
      message:
        `This file is ${formatBytes(size)}, and ${limit}. ` +
        'Send a smaller version (an MP3 of it), or a link to the file.',
    };
  }
  const duration = known(facts.durationS);
  if (duration !== null && duration > limits.maxDurationS) {
    return {
      reason: 'too-long',
      message: `This song is ${formatClock(duration)} long; the longest I take is ${formatClock(limits.maxDurationS)}.`,
    };
  }
  return null;
}

function known(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}
