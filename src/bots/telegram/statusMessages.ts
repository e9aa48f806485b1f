import { type Api, InlineKeyboard } from 'grammy';

import type { StatusSurface } from '../core/statusBoards.js';
import { statusMessageText } from '../core/statusText.js';
import { telegramChat, TELEGRAM_PLATFORM } from './telegramTarget.js';

/** Callback data of the Cancel button under a status message: `cancel:<jobId>`. */
export const CANCEL_CALLBACK_PREFIX = 'cancel:';

export function cancelKeyboard(jobId: string): InlineKeyboard {
  return new InlineKeyboard().text('✖️ Cancel', `${CANCEL_CALLBACK_PREFIX}${jobId}`);
}

/**
 * Edit intervals: Telegram allows about 20 edits a minute in a group (platforms §2b), so at most one every 3 s
 * there; private chats take more.
 */
export const EDIT_INTERVAL_MS = { group: 3000, private: 1000 } as const;

/** The key of a status message in {@link StatusBoards}, for `recordEdit`. */
export function telegramBoardKey(chatId: number, messageId: number): string {
  return `${chatId}:${messageId}`;
}

/** Status messages in Telegram chats: edited in place, with the Cancel button kept under them. */
export function telegramStatusSurface(api: Api): StatusSurface {
  return {
    platform: TELEGRAM_PLATFORM,
    boardOf(replyTo) {
      const chat = telegramChat(replyTo);
      if (chat.statusMessageId === null) return null;
      return {
        key: telegramBoardKey(chat.chatId, chat.statusMessageId),
        intervalMs: chat.chatId < 0 ? EDIT_INTERVAL_MS.group : EDIT_INTERVAL_MS.private,
      };
    },
    render: statusMessageText,
    edit(replyTo, text, jobId) {
      const chat = telegramChat(replyTo);
      return api.editMessageText(chat.chatId, chat.statusMessageId!, text, {
        reply_markup: cancelKeyboard(jobId),
      });
    },
  };
}
