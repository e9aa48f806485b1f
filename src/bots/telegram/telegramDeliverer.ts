import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { type Api, InputFile, InputMediaBuilder } from 'grammy';
import type { InputMediaAudio, InputMediaDocument } from 'grammy/types';
import type { Logger } from 'pino';

import type { DownloadShelf, PublishedFile } from '../../http/downloadShelf.js';
import type { FfmpegTools } from '../../pipeline/audio/ffmpeg.js';
import type { DeliveredFile, Deliverer, DeliveryBundle } from '../../queue/delivery.js';
import type { ReplyTarget } from '../../queue/jobSchema.js';
import { formatBytes } from '../../format/formatBytes.js';
import { describeEncoding, planDelivery, type TelegramLimits } from '../core/planDelivery.js';
import { reencodeFiles } from '../core/reencodeFiles.js';
import { statsBlock } from '../core/statusText.js';
import { isUnreachableChat } from './telegramApi.js';
import { telegramChat } from './telegramTarget.js';

export interface TelegramDelivererOptions {
  readonly api: Api;
  readonly limits: TelegramLimits;
  readonly tools: FfmpegTools;
  /** signed links for results too big to send; null: none configured (STEMBOT_PUBLIC_URL, STEMBOT_LINK_SECRET) */
  readonly shelf: DownloadShelf | null;
  /** scratch space for smaller encodings */
  readonly workDir: string;
  readonly logger: Logger;
}

const STEM_LABELS = { vocals: 'Vocals', music: 'Music', bleed: 'Bleed' } as const;

/** Telegram's limits on a caption (sendPhoto, media items) and on a message, characters. */
const CAPTION_LIMIT = 1024;
const MESSAGE_LIMIT = 4096;

/**
 * Answers Telegram requests from the worker (design §2: the worker delivers through the platform's API): the
 * stems as one album of audio files (MP3 plays in Telegram's player, with "Title — Vocals" and the performer),
 * or of documents for the other formats; smaller encodings, then signed links, when they do not fit; the
 * spectrogram as a photo with the stats as its caption; and the status message removed, since the answer
 * replaces it. A chat that cannot be reached (bot blocked, group left) is logged, not retried.
 */
export class TelegramDeliverer implements Deliverer {
  readonly #options: TelegramDelivererOptions;

  constructor(options: TelegramDelivererOptions) {
    this.#options = options;
  }

  async deliver(target: ReplyTarget, bundle: DeliveryBundle): Promise<void> {
    const { api, logger } = this.#options;
    const chat = telegramChat(target);
    const scratch = await mkdtemp(join(this.#options.workDir, 'telegram-'));
    let afterStems: string | null;
    try {
      void api.sendChatAction(chat.chatId, 'upload_document', chat.thread).catch(() => undefined);
      afterStems = await this.#sendStems(target, bundle, scratch);
    } catch (error) {
      if (!isUnreachableChat(error)) throw error; // the job is retried; nothing was sent
      logger.warn({ jobId: bundle.jobId, err: String(error) }, 'Telegram chat unreachable: result dropped');
      return;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    // The user has the stems: from here on nothing may throw, or a retry would send them again.
    const safely = async (what: string, send: () => Promise<unknown>) => {
      try {
        await send();
      } catch (error) {
        logger.warn({ jobId: bundle.jobId, err: String(error) }, `Telegram: ${what} not sent`);
      }
    };
    if (afterStems) {
      for (const text of splitLines(afterStems, MESSAGE_LIMIT)) {
        await safely('links', () =>
          api.sendMessage(chat.chatId, text, {
            reply_parameters: chat.reply,
            link_preview_options: { is_disabled: true },
            ...chat.thread,
          }),
        );
      }
    }
    const caption = clip(`🎵 ${bundle.title}\n${statsBlock(bundle.stats)}`, CAPTION_LIMIT);
    const picture = bundle.picture;
    await safely('stats', () =>
      picture
        ? api.sendPhoto(chat.chatId, new InputFile(picture, 'spectrogram.png'), { caption, ...chat.thread })
        : api.sendMessage(chat.chatId, caption, chat.thread),
    );
    await this.#removeStatus(target);
  }

  async fail(target: ReplyTarget, reason: string): Promise<void> {
    const { api, logger } = this.#options;
    const chat = telegramChat(target);
    try {
      await api.sendMessage(chat.chatId, `❌ ${reason}`, { reply_parameters: chat.reply, ...chat.thread });
    } catch (error) {
      if (!isUnreachableChat(error)) throw error;
      logger.warn({ err: String(error) }, 'Telegram chat unreachable: failure notice dropped');
    }
    await this.#removeStatus(target);
  }

  /**
   * Sends the stems, or previews and links. Links are made before anything is sent, so a failure there leaves
   * nothing half-delivered. Returns what to say after the stems (a smaller encoding, links), or null.
   */
  async #sendStems(target: ReplyTarget, bundle: DeliveryBundle, scratch: string): Promise<string | null> {
    const { tools, limits, logger } = this.#options;
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
    if (plan.kind === 'native') {
      const changed = plan.format !== requested || plan.downgradedFrom !== null;
      const files = changed ? await reencodeFiles(tools, bundle.files, plan, scratch) : bundle.files;
      // The stems can go without links: a shelf that fails costs the links, not the answer.
      const links = plan.downgradedFrom
        ? await this.#publish(bundle).catch((error: unknown) => {
            logger.warn({ jobId: bundle.jobId, err: String(error) }, 'download links not made');
            return null;
          })
        : null;
      await this.#sendFiles(target, bundle, files, plan.playable);
      if (!plan.downgradedFrom) return null;
      const full = describeEncoding({ format: plan.downgradedFrom });
      return [
        `Sent as ${describeEncoding(plan)}: ${full} would be over Telegram's ${formatBytes(limits.maxUploadBytes)} per file.`,
        ...linkLines(links, full),
      ].join('\n');
    }
    const links = await this.#publish(bundle); // throws before anything was sent: the job is retried
    const text = links
      ? [plan.reason, ...linkLines(links, describeEncoding({ format: requested }))].join('\n')
      : `${plan.reason.replace(/: here .*$/, '.')} This bot has no download server set up, so the full files ` +
        'cannot be sent. Choose MP3 or fewer stems in /settings and send the song again.';
    if (plan.preview) {
      const previews = await reencodeFiles(tools, bundle.files, plan.preview, scratch);
      await this.#sendFiles(target, bundle, previews, limits.audioFormats.includes(plan.preview.format));
      return text; // after the previews, sent like the stats: it must not fail the delivery
    }
    const chat = telegramChat(target);
    for (const part of splitLines(text, MESSAGE_LIMIT)) {
      await this.#options.api.sendMessage(chat.chatId, part, {
        reply_parameters: chat.reply,
        link_preview_options: { is_disabled: true },
        ...chat.thread,
      });
    }
    return null;
  }

  /** One file: sendAudio / sendDocument; several: one album (audio groups only with audio, platforms §2b). */
  async #sendFiles(
    target: ReplyTarget,
    bundle: DeliveryBundle,
    files: readonly DeliveredFile[],
    playable: boolean,
  ): Promise<void> {
    const { api } = this.#options;
    const chat = telegramChat(target);
    const common = { reply_parameters: chat.reply, ...chat.thread };
    const tags = (file: DeliveredFile) => ({
      title: `${bundle.title} — ${STEM_LABELS[file.stem]}`,
      ...(bundle.performer ? { performer: bundle.performer } : {}),
    });
    if (files.length === 1) {
      const [file] = files;
      const input = new InputFile(file.path, file.name);
      if (playable) await api.sendAudio(chat.chatId, input, { ...tags(file), ...common });
      else await api.sendDocument(chat.chatId, input, common);
      return;
    }
    const media: (InputMediaAudio | InputMediaDocument)[] = files.map((file) => {
      const input = new InputFile(file.path, file.name);
      return playable ? InputMediaBuilder.audio(input, tags(file)) : InputMediaBuilder.document(input);
    });
    await api.sendMediaGroup(chat.chatId, media as InputMediaAudio[], common);
  }

  async #publish(bundle: DeliveryBundle): Promise<PublishedFile[] | null> {
    if (!this.#options.shelf) return null;
    return this.#options.shelf.publish(bundle.jobId, bundle.files);
  }

  async #removeStatus(target: ReplyTarget): Promise<void> {
    const chat = telegramChat(target);
    if (chat.statusMessageId === null) return;
    await this.#options.api.deleteMessage(chat.chatId, chat.statusMessageId).catch(() => undefined);
  }
}

function linkLines(links: readonly PublishedFile[] | null, what: string): string[] {
  if (!links || links.length === 0) return [];
  const hours = Math.max(1, Math.round((links[0].expiresAt * 1000 - Date.now()) / 3_600_000));
  return [
    `${what} (links work for ${hours} h):`,
    ...links.map((link) => `• ${link.name} (${formatBytes(link.bytes)}): ${link.url}`),
  ];
}

/** Whole lines packed into messages of at most `limit` characters (a link cut in half is worse than none). */
function splitLines(text: string, limit: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const line of text.split('\n').map((l) => clip(l, limit))) {
    if (current && current.length + 1 + line.length > limit) {
      parts.push(current);
      current = line;
    } else {
      current = current ? `${current}\n${line}` : line;
    }
  }
  if (current) parts.push(current);
  return parts;
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
