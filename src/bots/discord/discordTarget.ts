import type { ReplyTarget } from '../../queue/jobSchema.js';

export const DISCORD_PLATFORM = 'discord';

/** An interaction token lives 15 minutes (platforms §2a, receiving-and-responding). */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;

/**
 * How long before its end a token is no longer used: an upload of three stems must finish before the token
 * dies, and a status edit sent at 14:59 may arrive after it.
 */
export const TOKEN_MARGIN_MS = 90_000;

/**
 * A Discord reply target as the queue carries it (strings in an opaque record). The interaction token answers
 * for 15 minutes; after that the answer goes to the channel as a reply to `replyToMessageId` (the message the
 * song was on, or the bot's own status message), or by DM to `userId` when the channel refuses.
 */
export interface DiscordReplyTarget {
  readonly channelId: string;
  /** null in DMs and group DMs */
  readonly guildId: string | null;
  /** who asked: the DM fallback, and the mention in a channel answer */
  readonly userId: string;
  readonly applicationId: string;
  readonly interactionToken: string;
  /** ms since the epoch */
  readonly tokenExpiresAt: number;
  /** the interaction's response (the status message), once the bot has its id */
  readonly responseMessageId: string | null;
  /** the message the song came on (message command); null for a slash command, whose song has no message */
  readonly sourceMessageId: string | null;
  /** the interaction's `attachment_size_limit`, bytes; null when Discord did not say */
  readonly attachmentSizeLimit: number | null;
}

export function discordReplyTarget(target: DiscordReplyTarget): ReplyTarget {
  const extra: Record<string, string> = {
    userId: target.userId,
    applicationId: target.applicationId,
    interactionToken: target.interactionToken,
    tokenExpiresAt: String(target.tokenExpiresAt),
  };
  if (target.guildId !== null) extra.guildId = target.guildId;
  if (target.responseMessageId !== null) extra.responseMessageId = target.responseMessageId;
  if (target.attachmentSizeLimit !== null) extra.attachmentSizeLimit = String(target.attachmentSizeLimit);
  return {
    platform: DISCORD_PLATFORM,
    chatId: target.channelId,
    ...(target.sourceMessageId !== null ? { messageId: target.sourceMessageId } : {}),
    extra,
  };
}

/** The target back from the queue's strings; a missing or malformed field reads as absent. */
export function discordTarget(replyTo: ReplyTarget): DiscordReplyTarget {
  const extra = replyTo.extra ?? {};
  const snowflake = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? text : null);
  const number = (text: string | undefined) =>
    text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
  return {
    channelId: replyTo.chatId,
    guildId: snowflake(extra.guildId),
    userId: extra.userId ?? '',
    applicationId: extra.applicationId ?? '',
    interactionToken: extra.interactionToken ?? '',
    tokenExpiresAt: number(extra.tokenExpiresAt) ?? 0,
    responseMessageId: snowflake(extra.responseMessageId),
    sourceMessageId: snowflake(replyTo.messageId),
    attachmentSizeLimit: number(extra.attachmentSizeLimit),
  };
}

/** Whether the interaction token can still be used for something that takes up to `marginMs`. */
export function tokenUsable(
  target: DiscordReplyTarget,
  now: number = Date.now(),
  marginMs = TOKEN_MARGIN_MS,
): boolean {
  return (
    target.interactionToken !== '' && target.applicationId !== '' && target.tokenExpiresAt - marginMs > now
  );
}
