import type { ReplyParameters } from 'grammy/types';

import type { ReplyTarget } from '../../queue/jobSchema.js';

export const TELEGRAM_PLATFORM = 'telegram';

/**
 * A Telegram reply target as the queue carries it (strings in an opaque record): the chat, the user's message
 * that held the song (answers reply to it), the status message the bot keeps editing, and the forum topic.
 */
export interface TelegramReplyTarget {
  readonly chatId: number;
  readonly sourceMessageId: number;
  readonly statusMessageId: number | null;
  readonly threadId: number | null;
}

export function telegramReplyTarget(target: TelegramReplyTarget): ReplyTarget {
  const extra: Record<string, string> = {};
  if (target.statusMessageId !== null) extra.statusMessageId = String(target.statusMessageId);
  if (target.threadId !== null) extra.threadId = String(target.threadId);
  return {
    platform: TELEGRAM_PLATFORM,
    chatId: String(target.chatId),
    messageId: String(target.sourceMessageId),
    extra,
  };
}

/** What the API calls need from a target: ids as numbers, reply parameters, the topic. */
export interface TelegramChat {
  readonly chatId: number;
  readonly statusMessageId: number | null;
  /** replies survive the user deleting their message */
  readonly reply: ReplyParameters | undefined;
  /** `{ message_thread_id }` in a forum topic, else empty: spread into every call's options */
  readonly thread: { message_thread_id?: number };
}

export function telegramChat(target: ReplyTarget): TelegramChat {
  const number = (text: string | undefined) =>
    text !== undefined && /^-?\d+$/.test(text) ? Number(text) : null;
  const sourceMessageId = number(target.messageId);
  const threadId = number(target.extra?.threadId);
  return {
    chatId: Number(target.chatId),
    statusMessageId: number(target.extra?.statusMessageId),
    reply:
      sourceMessageId === null
        ? undefined
        : { message_id: sourceMessageId, allow_sending_without_reply: true },
    thread: threadId === null ? {} : { message_thread_id: threadId },
  };
}
