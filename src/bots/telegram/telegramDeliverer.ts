import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { type Api, InputFile, InputMediaBuilder } from 'grammy';
import type { InputMediaAudio, InputMediaDocument } from 'grammy/types';

import type { DeliveredFile, Deliverer, DeliveryBundle } from '../../queue/delivery.js';
import type { ReplyTarget } from '../../queue/jobSchema.js';
import { fitStemsToChat, type StemDeliveryTools } from '../core/fitStemsToChat.js';
import type { TelegramLimits } from '../core/planDelivery.js';
import { STEM_NAMES } from '../core/settingsNames.js';
import { statsBlock } from '../core/statusText.js';
import { isUnreachableChat } from './telegramApi.js';
import { telegramChat } from './telegramTarget.js';

export interface TelegramDelivererOptions extends StemDeliveryTools {
  readonly api: Api;
  readonly limits: TelegramLimits;
}

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
   * Sends the stems, or previews and links (fitted by {@link fitStemsToChat}, links made before anything is
   * sent). Returns what to say after the stems (a smaller encoding, links), or null.
   */
  async #sendStems(target: ReplyTarget, bundle: DeliveryBundle, scratch: string): Promise<string | null> {
    const { tools, limits, logger, shelf } = this.#options;
    const fitted = await fitStemsToChat(bundle, {
      limits,
      tools,
      shelf,
      scratch,
      logger,
      platform: 'Telegram',
      noLinksAdvice: 'Choose MP3 or fewer stems in /settings and send the song again.',
    });
    const text = fitted.notes.length > 0 ? fitted.notes.join('\n') : null;
    if (fitted.files.length > 0) {
      await this.#sendFiles(target, bundle, fitted.files, fitted.playable);
      return text; // after the stems, sent like the stats: it must not fail the delivery
    }
    const chat = telegramChat(target);
    for (const part of splitLines(text ?? '', MESSAGE_LIMIT)) {
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
      title: `${bundle.title} — ${STEM_NAMES[file.stem]}`,
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

  async #removeStatus(target: ReplyTarget): Promise<void> {
    const chat = telegramChat(target);
    if (chat.statusMessageId === null) return;
    await this.#options.api.deleteMessage(chat.chatId, chat.statusMessageId).catch(() => undefined);
  }
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
