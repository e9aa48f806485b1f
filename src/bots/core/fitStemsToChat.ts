import type { Logger } from 'pino';

import { formatBytes } from '../../format/formatBytes.js';
import type { DownloadShelf, PublishedFile } from '../../http/downloadShelf.js';
import type { FfmpegTools } from '../../pipeline/audio/ffmpeg.js';
import type { DeliveredFile, DeliveryBundle } from '../../queue/delivery.js';
import { describeEncoding, planDelivery, type PlatformLimits } from './planDelivery.js';
import { reencodeFiles } from './reencodeFiles.js';

/** What every platform's deliverer needs to fit stems to a chat (the worker's tools, shelf and scratch space). */
export interface StemDeliveryTools {
  readonly tools: FfmpegTools;
  /** signed links for results too big to send; null: none configured (STEMBOT_PUBLIC_URL, STEMBOT_LINK_SECRET) */
  readonly shelf: DownloadShelf | null;
  /** scratch space for smaller encodings */
  readonly workDir: string;
  readonly logger: Logger;
}

export interface FitOptions extends Omit<StemDeliveryTools, 'workDir'> {
  readonly limits: PlatformLimits;
  /** scratch folder for smaller encodings; the caller removes it */
  readonly scratch: string;
  /** "Telegram", "Discord": in "over Telegram's 50 MB per file" */
  readonly platform: string;
  /** what to do when nothing fits and there is no download server, e.g. "Choose MP3 … in /settings …" */
  readonly noLinksAdvice: string;
}

/** What to attach and what to say with it. */
export interface ChatStems {
  /** the stems (re-encoded smaller when needed), or previews beside links, or nothing (links only) */
  readonly files: readonly DeliveredFile[];
  /** whether the platform plays `files` inline */
  readonly playable: boolean;
  /** lines for the user: why the files are smaller, the links; empty when the stems went as asked */
  readonly notes: readonly string[];
}

/**
 * Fits a result to one chat's upload limit (design §5 `core/`: the plan is `planDelivery`, this carries it
 * out): the files as asked when they fit; else a smaller encoding from the ladder, with links to the full
 * files when a shelf is set up; else previews (or nothing) and the links. Links are made before anything is
 * sent, so a failure here leaves nothing half-delivered: when the links are the answer, a shelf failure throws
 * (the job is retried); when they only come beside smaller stems, it costs the links, not the answer.
 */
export async function fitStemsToChat(bundle: DeliveryBundle, options: FitOptions): Promise<ChatStems> {
  const { tools, limits, logger, scratch } = options;
  const requested = bundle.settings.format;
  const plan = planDelivery({
    stems: bundle.files.map((file) => ({
      stem: file.stem,
      durationS: bundle.stats.durationS,
      bytesByFormat: { [requested]: file.bytes },
    })),
    format: requested,
    limits,
  });
  const publish = async () => (options.shelf ? options.shelf.publish(bundle.jobId, bundle.files) : null);
  if (plan.kind === 'native') {
    const changed = plan.format !== requested || plan.downgradedFrom !== null;
    const files = changed ? await reencodeFiles(tools, bundle.files, plan, scratch) : bundle.files;
    if (!plan.downgradedFrom) return { files, playable: plan.playable, notes: [] };
    const links = await publish().catch((error: unknown) => {
      logger.warn({ jobId: bundle.jobId, err: String(error) }, 'download links not made');
      return null;
    });
    const full = describeEncoding({ format: plan.downgradedFrom });
    return {
      files,
      playable: plan.playable,
      notes: [
        `Sent as ${describeEncoding(plan)}: ${full} would be over ${options.platform}'s ${formatBytes(limits.maxUploadBytes)} per file.`,
        ...linkLines(links, full),
      ],
    };
  }
  const links = await publish(); // throws before anything was sent: the job is retried
  const notes = links
    ? [plan.reason, ...linkLines(links, describeEncoding({ format: requested }))]
    : [
        `${plan.reason.replace(/: here .*$/, '.')} This bot has no download server set up, so the full files ` +
          `cannot be sent. ${options.noLinksAdvice}`,
      ];
  if (!plan.preview) return { files: [], playable: false, notes };
  const previews = await reencodeFiles(tools, bundle.files, plan.preview, scratch);
  return { files: previews, playable: limits.audioFormats.includes(plan.preview.format), notes };
}

/** "FLAC (links work for 24 h):" and a line per file, "• name (size): url". */
function linkLines(links: readonly PublishedFile[] | null, what: string): string[] {
  if (!links || links.length === 0) return [];
  const hours = Math.max(1, Math.round((links[0].expiresAt * 1000 - Date.now()) / 3_600_000));
  return [
    `${what} (links work for ${hours} h):`,
    ...links.map((link) => `• ${link.name} (${formatBytes(link.bytes)}): ${link.url}`),
  ];
}
