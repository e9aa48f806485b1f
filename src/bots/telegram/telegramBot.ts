import type { Queue } from 'bullmq';
import { Bot, type Context, GrammyError } from 'grammy';
import type { Message } from 'grammy/types';
import type { Logger } from 'pino';

import { adminStats, formatAdminStats } from '../../queue/adminStats.js';
import { cancelOpenRequests } from '../../queue/cancelRequest.js';
import {
  type JobSource,
  type MixSettings,
  type Requester,
  type SeparateJobData,
  type SeparationSettings,
  separationSettingsSchema,
} from '../../queue/jobSchema.js';
import { listOpenRequests } from '../../queue/openRequests.js';
import type { SeparationProducer } from '../../queue/producer.js';
import { type QueueContext, stembotKey } from '../../queue/queueContext.js';
import { checkLink, isLinkFetchError } from '../../queue/sources/fetchLink.js';
import type { TelegramLimits } from '../core/planDelivery.js';
import { parseMixArgs, type ParsedMixArgs } from '../core/mixArgs.js';
import { parseSettingsArgs } from '../core/settingsArgs.js';
import { describeSettings } from '../core/settingsNames.js';
import { QUEUE_UNAVAILABLE } from '../core/statusText.js';
import { checkSongLimits, type IntakeLimits } from '../core/songLimits.js';
import { submitForChat } from '../core/submitForChat.js';
import { loadUserSettings, saveUserSettings } from '../core/userSettings.js';
import { formatBytes } from '../../format/formatBytes.js';
import { helpText } from './botTexts.js';
import { isCommand } from './commandFilter.js';
import { pickSong, type SongPick } from './incomingSong.js';
import {
  applySettingsChange,
  parseSettingsCallback,
  SETTINGS_CALLBACK_PREFIX,
  settingsKeyboard,
} from './settingsKeyboard.js';
import type { StatusBoards } from '../core/statusBoards.js';
import { CANCEL_CALLBACK_PREFIX, cancelKeyboard, telegramBoardKey } from './statusMessages.js';
import { TELEGRAM_PLATFORM, telegramReplyTarget } from './telegramTarget.js';

export interface TelegramBotOptions {
  readonly context: QueueContext;
  readonly producer: SeparationProducer;
  readonly queue: Queue<SeparateJobData>;
  readonly limits: TelegramLimits;
  readonly intake: IntakeLimits;
  /** Telegram user ids allowed to run /stats (TELEGRAM_ADMIN_IDS); they are also exempt from quotas */
  readonly adminIds: ReadonlySet<string>;
  readonly logger: Logger;
  /** the progress edits, told about the bot's own edit of each status message (one edit interval for both) */
  readonly statusMessages?: StatusBoards;
  /** a submit slower than this answers "queue unavailable" (the job may still be queued; see submitSong) */
  readonly submitTimeoutMs?: number;
}

/** The commands shown in Telegram's menu; /stats only to admins (setMyCommands scopes, platforms §2b). */
export const TELEGRAM_COMMANDS = [
  { command: 'separate', description: 'Separate a song (reply to it, or add a link)' },
  { command: 'mix', description: 'Mix your vocal over a backing track (reply to it)' },
  { command: 'settings', description: 'Preset, stems and format' },
  { command: 'cancel', description: 'Cancel your songs in progress here' },
  { command: 'help', description: 'How to use this bot' },
] as const;

/**
 * Installs the handlers on a grammY bot (design §5 `telegram/`): songs from any message in a private chat and
 * from `/separate` (alias `/stems`) anywhere, which in groups with privacy mode on is how the bot sees a song
 * (a command that replies to the message carrying it); `/settings` with its inline keyboard; `/cancel` and
 * the Cancel button; `/stats` for admins; `/start`, `/help`. The bot only queues: the worker sends the result.
 */
export function installTelegramHandlers(bot: Bot, options: TelegramBotOptions): void {
  const { logger, context } = options;

  // A bot killed before it confirmed an update gets it again after a restart: each is handled once.
  bot.use(async (ctx, next) => {
    if (context.redis.status === 'ready') {
      const key = stembotKey(context, 'telegram', String(ctx.me.id), 'update', String(ctx.update.update_id));
      if ((await context.redis.set(key, '1', 'EX', 86400, 'NX')) !== 'OK') return;
    }
    await next();
  });

  bot.command(['start', 'help'], (ctx) =>
    ctx.reply(helpText(options.limits), { link_preview_options: { is_disabled: true } }),
  );

  bot.filter(isCommand(['separate', 'stems']), async (ctx) => {
    const message = ctx.message ?? ctx.channelPost;
    if (!message) return;
    const args = parseSettingsArgs(String(ctx.match ?? ''));
    if (args.unknown.length > 0) {
      await ctx.reply(`I did not understand “${args.unknown.join(' ')}”. ${SETTINGS_WORDS}`, {
        reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      });
      return;
    }
    // The song: on this message (a caption command, a link after the command), else on the one it replies to.
    let source: Message = message;
    let pick = args.link ? ({ kind: 'link', url: args.link } as const) : pickSong(message);
    if (pick.kind === 'none' && message.reply_to_message) {
      source = message.reply_to_message;
      pick = pickSong(source);
    }
    if (pick.kind === 'none') {
      await ctx.reply(
        'Reply /separate to a message that has a song (audio, voice, video or file), or write /separate followed by a link.',
        {
          reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
        },
      );
      return;
    }
    await submitSong(ctx, options, source, { song: pick, override: args.settings });
  });

  bot.command(['settings', 'options'], async (ctx) => {
    const user = ctx.from;
    if (!user || !(await queueReady(ctx, options))) return;
    const settings = await loadUserSettings(options.context, TELEGRAM_PLATFORM, String(user.id));
    await ctx.reply(settingsMessage(settings), { reply_markup: settingsKeyboard(settings) });
  });

  bot.callbackQuery(new RegExp(`^${SETTINGS_CALLBACK_PREFIX}`), async (ctx) => {
    const change = parseSettingsCallback(ctx.callbackQuery.data);
    const message = ctx.callbackQuery.message;
    if (!change || !message || options.context.redis.status !== 'ready') {
      await ctx.answerCallbackQuery({ text: change ? QUEUE_UNAVAILABLE : 'This button is out of date.' });
      return;
    }
    // Settings are per user: in a group, each member who presses changes their own.
    const userId = String(ctx.from.id);
    const current = await loadUserSettings(options.context, TELEGRAM_PLATFORM, userId);
    if (change.kind === 'done') {
      await ctx.answerCallbackQuery({ text: 'Saved.' });
      await ctx.editMessageText(`✅ ${describeSettings(current)}`).catch(ignoreNotModified);
      return;
    }
    const { settings, notice } = applySettingsChange(current, change);
    await saveUserSettings(options.context, TELEGRAM_PLATFORM, userId, settings);
    await ctx.answerCallbackQuery(notice ? { text: notice } : {});
    await ctx
      .editMessageText(settingsMessage(settings), { reply_markup: settingsKeyboard(settings) })
      .catch(ignoreNotModified);
  });

  bot.command('cancel', async (ctx) => {
    if (!ctx.from || !(await queueReady(ctx, options))) return;
    const chatId = String(ctx.chat.id);
    const cancelled = await cancelOpenRequests(
      options.context,
      options.queue,
      requesterOf(ctx.from, options),
      (open) => open.chatId === chatId,
    );
    await ctx.reply(
      cancelled === 0
        ? 'You have no songs in progress here.'
        : `Cancelled ${cancelled === 1 ? 'your song' : `${cancelled} songs`}.`,
    );
  });

  bot.callbackQuery(new RegExp(`^${CANCEL_CALLBACK_PREFIX}`), async (ctx) => {
    const jobId = ctx.callbackQuery.data.slice(CANCEL_CALLBACK_PREFIX.length);
    if (options.context.redis.status !== 'ready') {
      await ctx.answerCallbackQuery({ text: QUEUE_UNAVAILABLE });
      return;
    }
    const requester = requesterOf(ctx.from, options);
    const mine = (await listOpenRequests(options.context, requester)).some((open) => open.jobId === jobId);
    if (!mine) {
      await ctx.answerCallbackQuery({
        text: 'Only the person who sent this song can cancel it (or it is done).',
      });
      return;
    }
    await cancelOpenRequests(options.context, options.queue, requester, (open) => open.jobId === jobId);
    await ctx.answerCallbackQuery({ text: 'Cancelled.' });
    await ctx.editMessageText('✖️ Cancelled.').catch(ignoreNotModified);
  });

  bot.command('stats', async (ctx) => {
    if (!ctx.from || !options.adminIds.has(String(ctx.from.id))) {
      await ctx.reply('/stats is for the admins of this bot.');
      return;
    }
    if (!(await queueReady(ctx, options))) return;
    const stats = await adminStats(options.context, options.queue);
    await ctx.reply(formatAdminStats(stats));
  });

  bot.filter(isCommand(['mix']), async (ctx) => {
    const message = ctx.message ?? ctx.channelPost;
    if (!message) return;
    const args = parseMixArgs(String(ctx.match ?? ''));
    if (args.unknown.length > 0) {
      await ctx.reply(`I did not understand “${args.unknown.join(' ')}”. ${MIX_WORDS}`, {
        reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      });
      return;
    }
    const vocal = pickSong(message);
    const backing = message.reply_to_message
      ? pickSong(message.reply_to_message)
      : ({ kind: 'none' } as const);
    if (vocal.kind === 'none' || backing.kind === 'none') {
      await ctx.reply(MIX_HOW, {
        reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      });
      return;
    }
    await submitMix(ctx, options, message, backing, vocal, args);
  });

  // Anything else in a private chat: a song, a link, or a hint. In groups only the commands above act.
  bot.chatType('private').on('message', async (ctx) => {
    // A voice or video note answering a song is a take to mix over it: such notes carry no caption command.
    const answered = ctx.message.reply_to_message;
    if ((ctx.message.voice || ctx.message.video_note) && answered) {
      const backing = pickSong(answered);
      const take = pickSong(ctx.message);
      if (backing.kind !== 'none' && take.kind !== 'none') {
        await submitMix(ctx, options, ctx.message, backing, take, { mix: {}, unknown: [] });
        return;
      }
    }
    const pick = pickSong(ctx.message);
    if (pick.kind === 'none') {
      if (ctx.message.text?.startsWith('/'))
        await ctx.reply('I do not know that command. /help lists what I do.');
      else await ctx.reply('Send me a song (audio, voice, video or file) or a link to one. /help for more.');
      return;
    }
    await submitSong(ctx, options, ctx.message, { song: pick, override: {} });
  });

  bot.catch(({ error, ctx }) => {
    logger.error(
      { update: ctx.update.update_id, err: error instanceof Error ? error.message : String(error) },
      'Telegram update failed',
    );
  });
}

const SETTINGS_WORDS =
  'After /separate you can write a preset (fast, balanced, best), stems (vocals, music, bleed, guide), a format (mp3, flac, wav, wav16, opus) and a link.';

const MIX_WORDS =
  'After /mix you can write auto (the automatic mix), guide and a number of dB (your vocal that much quieter, as a guide), and a format (mp3, flac, wav, opus).';

const MIX_HOW =
  'To mix your singing over a backing track: reply to the message with the backing track (a karaoke Music stem, say), send your recording as an audio file with /mix as its caption — or, in this private chat, reply with a voice note.';

/** A vocal recording to mix over a backing track; the answer replies to the recording's message. */
function submitMix(
  ctx: Context,
  options: TelegramBotOptions,
  recording: Message,
  backing: Exclude<SongPick, { kind: 'none' }>,
  vocal: Exclude<SongPick, { kind: 'none' }>,
  args: ParsedMixArgs,
): Promise<void> {
  return submitSong(ctx, options, recording, {
    song: backing,
    override: args.format ? { format: args.format } : {},
    mix: { vocal, settings: args.mix },
  });
}

function settingsMessage(settings: SeparationSettings): string {
  return `Your settings for the next songs:\n${describeSettings(settings)}`;
}

function requesterOf(
  user: { id: number; first_name: string; username?: string },
  options: TelegramBotOptions,
): Requester {
  return {
    platform: TELEGRAM_PLATFORM,
    userId: String(user.id),
    displayName: (user.username ?? user.first_name).slice(0, 128),
    isAdmin: options.adminIds.has(String(user.id)),
  };
}

async function queueReady(ctx: Context, options: TelegramBotOptions): Promise<boolean> {
  if (options.context.redis.status === 'ready') return true;
  await ctx.reply(`⚠️ ${QUEUE_UNAVAILABLE}`);
  return false;
}

/** A song turned into a job source, or why it cannot be taken (a sentence for the user). */
type CheckedSource =
  { readonly ok: true; readonly source: JobSource } | { readonly ok: false; readonly reason: string };

/** Checks what can be checked here (type, size, length, link address) and makes the job's source. */
async function checkSource(
  pick: Exclude<SongPick, { kind: 'none' }>,
  options: TelegramBotOptions,
): Promise<CheckedSource> {
  if (pick.kind === 'not-audio') return { ok: false, reason: pick.reason };
  if (pick.kind === 'link') {
    try {
      await checkLink(pick.url, { allowPrivate: options.intake.allowPrivateUrls });
    } catch (error) {
      if (isLinkFetchError(error)) return { ok: false, reason: error.message };
      throw error;
    }
    return { ok: true, source: { kind: 'url', url: pick.url, identity: pick.url } };
  }
  const { song } = pick;
  const refusal = checkSongLimits(
    { sizeBytes: song.sizeBytes, durationS: song.durationS },
    {
      maxDownloadBytes: options.limits.maxDownloadBytes,
      maxInputBytes: options.intake.maxInputBytes,
      maxDurationS: options.intake.maxDurationS,
      downloadLimitNote: options.limits.maxDownloadBytes
        ? `Telegram lets bots download files up to ${formatBytes(options.limits.maxDownloadBytes)}`
        : undefined,
    },
  );
  if (refusal) return { ok: false, reason: refusal.message };
  return {
    ok: true,
    source: {
      kind: 'platform-file',
      platform: TELEGRAM_PLATFORM,
      fileId: song.fileId,
      identity: `telegram:${song.fileUniqueId}`,
      ...(song.fileName ? { fileName: song.fileName.slice(0, 255) } : {}),
      ...(song.sizeBytes !== undefined ? { sizeBytes: song.sizeBytes } : {}),
      ...(song.title ? { title: song.title.slice(0, 255) } : {}),
      ...(song.performer ? { performer: song.performer.slice(0, 255) } : {}),
    },
  };
}

/** What one chat message asks the queue for: a song to separate, or a vocal to mix over a backing track. */
interface ChatJob {
  readonly song: Exclude<SongPick, { kind: 'none' }>;
  readonly override: Partial<SeparationSettings>;
  /** a mix: `song` is the backing track */
  readonly mix?: {
    readonly vocal: Exclude<SongPick, { kind: 'none' }>;
    readonly settings: Partial<MixSettings>;
  };
}

/**
 * Checks the job's files and links, then queues it: the status message is sent first, replying to `source`,
 * so the job can carry its id (the worker removes it when it answers), then edited with the queue position
 * and ETA.
 */
async function submitSong(
  ctx: Context,
  options: TelegramBotOptions,
  source: Message,
  job: ChatJob,
): Promise<void> {
  const user = ctx.from;
  const chat = ctx.chat;
  if (!user || !chat) return;
  const replyToSource = {
    reply_parameters: { message_id: source.message_id, allow_sending_without_reply: true },
  };
  const threadId = source.is_topic_message ? (source.message_thread_id ?? null) : null;
  const thread = threadId === null ? {} : { message_thread_id: threadId };
  const refuse = (text: string) => ctx.reply(`❌ ${text}`, { ...replyToSource, ...thread });

  const song = await checkSource(job.song, options);
  if (!song.ok) return void (await refuse(job.mix ? `The backing track: ${song.reason}` : song.reason));
  const vocal = job.mix ? await checkSource(job.mix.vocal, options) : null;
  if (vocal && !vocal.ok) return void (await refuse(`Your vocal recording: ${vocal.reason}`));

  if (!(await queueReady(ctx, options))) return;
  const saved = await loadUserSettings(options.context, TELEGRAM_PLATFORM, String(user.id));
  // a mix takes only the format from the separation settings: the rest would split identical mixes in dedup
  const settings = job.mix
    ? separationSettingsSchema.parse({ format: saved.format, ...job.override })
    : { ...saved, ...job.override };
  const what = job.mix ? 'mix' : 'song';
  const status = await ctx.reply(`⏳ Adding your ${what} to the queue…`, { ...replyToSource, ...thread });
  const replyTo = telegramReplyTarget({
    chatId: chat.id,
    sourceMessageId: source.message_id,
    statusMessageId: status.message_id,
    threadId,
  });
  const outcome = await submitForChat(
    options.producer,
    {
      source: song.source,
      settings,
      ...(job.mix && vocal?.ok ? { mix: { vocal: vocal.source, settings: job.mix.settings } } : {}),
      requester: requesterOf(user, options),
      replyTo,
    },
    { logger: options.logger, timeoutMs: options.submitTimeoutMs },
  );
  if (!outcome.accepted) {
    await ctx.api.editMessageText(chat.id, status.message_id, outcome.text).catch(() => undefined);
    return;
  }
  options.statusMessages?.recordEdit(telegramBoardKey(chat.id, status.message_id), outcome.text);
  await ctx.api
    .editMessageText(chat.id, status.message_id, outcome.text, {
      reply_markup: cancelKeyboard(outcome.jobId),
    })
    .catch(ignoreNotModified);
}

function ignoreNotModified(error: unknown): void {
  if (
    error instanceof GrammyError &&
    /message is not modified|message to edit not found/i.test(error.description)
  )
    return;
  throw error;
}
