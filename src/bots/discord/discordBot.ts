import type { Queue } from 'bullmq';
import {
  type Attachment,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  Events,
  type Interaction,
  MessageFlags,
  type MessageContextMenuCommandInteraction,
  type RepliableInteraction,
} from 'discord.js';
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
import type { QueueContext } from '../../queue/queueContext.js';
import { checkLink, isLinkFetchError } from '../../queue/sources/fetchLink.js';
import type { StatusBoards } from '../core/statusBoards.js';
import { checkSongLimits, type IntakeLimits } from '../core/songLimits.js';
import { QUEUE_UNAVAILABLE } from '../core/statusText.js';
import { submitForChat } from '../core/submitForChat.js';
import {
  CANCEL_BUTTON_PREFIX,
  COMMAND_NAMES,
  MIX_OPTIONS,
  mixSettingsFromOptions,
  SEPARATE_OPTIONS,
  settingsFromOptions,
} from './discordCommands.js';
import {
  type DiscordAttachment,
  type DiscordSongPick,
  pickFromMessage,
  pickFromOptions,
} from './discordSong.js';
import { cancelRow, discordBoardKey } from './discordStatus.js';
import { DISCORD_PLATFORM, discordReplyTarget, INTERACTION_TOKEN_TTL_MS } from './discordTarget.js';
import { discordHelpText, NO_MIX_FILES, NO_SONG_MESSAGE, NO_SONG_SLASH } from './discordTexts.js';

export interface DiscordBotOptions {
  readonly context: QueueContext;
  readonly producer: SeparationProducer;
  readonly queue: Queue<SeparateJobData>;
  readonly intake: IntakeLimits;
  /** Discord user ids allowed to run /stats (DISCORD_ADMIN_IDS); also exempt from quotas */
  readonly adminIds: ReadonlySet<string>;
  readonly logger: Logger;
  /** the progress edits, told about the bot's own edit of each status message */
  readonly statusBoards?: StatusBoards;
  /** a submit slower than this answers "queue unavailable" (the job may still be queued) */
  readonly submitTimeoutMs?: number;
}

const EPHEMERAL = { flags: MessageFlags.Ephemeral } as const;

/**
 * Answers interactions on a discord.js client (design §5 `discord/`): `/separate` (attachment or link, preset,
 * stems, format), the message command "Separate stems", `/mix` (vocal and backing attachments, preset, guide
 * level, format), the Cancel button, `/stats` for admins and `/help`.
 * Refusals are ephemeral. A song is deferred at once (the 3-second rule), queued, and its status message kept
 * current by {@link StatusBoards}; the worker sends the result itself.
 */
export function installDiscordHandlers(client: Client, options: DiscordBotOptions): void {
  client.on(Events.InteractionCreate, (interaction) => {
    void handleInteraction(interaction, options).catch((error: unknown) => {
      options.logger.error(
        { interaction: interaction.id, err: error instanceof Error ? error.message : String(error) },
        'Discord interaction failed',
      );
      if (interaction.isRepliable())
        void tellPrivately(interaction, '⚠️ Something went wrong here. Please try again.');
    });
  });
}

async function handleInteraction(interaction: Interaction, options: DiscordBotOptions): Promise<void> {
  if (interaction.isChatInputCommand()) {
    switch (interaction.commandName) {
      case COMMAND_NAMES.separate:
        return separateCommand(interaction, options);
      case COMMAND_NAMES.mix:
        return mixCommand(interaction, options);
      case COMMAND_NAMES.stats:
        return statsCommand(interaction, options);
      case COMMAND_NAMES.help:
        await interaction.reply({
          content: discordHelpText(interaction.attachmentSizeLimit ?? null),
          ...EPHEMERAL,
        });
        return;
    }
  } else if (
    interaction.isMessageContextMenuCommand() &&
    interaction.commandName === COMMAND_NAMES.separateMessage
  ) {
    return separateMessageCommand(interaction, options);
  } else if (interaction.isButton() && interaction.customId.startsWith(CANCEL_BUTTON_PREFIX)) {
    return cancelButton(interaction, options);
  }
  if (interaction.isRepliable())
    await interaction.reply({
      content: 'I do not know this command any more. `/help` lists what I do.',
      ...EPHEMERAL,
    });
}

async function separateCommand(
  interaction: ChatInputCommandInteraction,
  options: DiscordBotOptions,
): Promise<void> {
  const attachment = interaction.options.getAttachment(SEPARATE_OPTIONS.song);
  const link = interaction.options.getString(SEPARATE_OPTIONS.link);
  const pick = pickFromOptions(attachment ? attachmentFacts(attachment) : null, link);
  const settings = settingsFromOptions({
    preset: interaction.options.getString(SEPARATE_OPTIONS.preset),
    stems: interaction.options.getString(SEPARATE_OPTIONS.stems),
    format: interaction.options.getString(SEPARATE_OPTIONS.format),
  });
  await submitSong(interaction, options, { song: pick, override: settings }, null, NO_SONG_SLASH);
}

/** /mix: the vocal recording over the backing track, both attachments (Discord requires them). */
async function mixCommand(
  interaction: ChatInputCommandInteraction,
  options: DiscordBotOptions,
): Promise<void> {
  const attached = (name: string) => {
    const attachment = interaction.options.getAttachment(name);
    return pickFromOptions(attachment ? attachmentFacts(attachment) : null, null);
  };
  const format = settingsFromOptions({ format: interaction.options.getString(MIX_OPTIONS.format) }).format;
  await submitSong(
    interaction,
    options,
    {
      song: attached(MIX_OPTIONS.backing),
      override: format ? { format } : {},
      mix: {
        vocal: attached(MIX_OPTIONS.vocal),
        settings: mixSettingsFromOptions({
          preset: interaction.options.getString(MIX_OPTIONS.preset),
          guideDb: interaction.options.getInteger(MIX_OPTIONS.guideDb),
        }),
      },
    },
    null,
    NO_MIX_FILES,
  );
}

async function separateMessageCommand(
  interaction: MessageContextMenuCommandInteraction,
  options: DiscordBotOptions,
): Promise<void> {
  const message = interaction.targetMessage;
  const pick = pickFromMessage([...message.attachments.values()].map(attachmentFacts), message.content ?? '');
  await submitSong(interaction, options, { song: pick, override: {} }, message.id, NO_SONG_MESSAGE);
}

function attachmentFacts(attachment: Attachment): DiscordAttachment {
  return {
    id: attachment.id,
    name: attachment.name,
    url: attachment.url,
    size: attachment.size,
    contentType: attachment.contentType ?? null,
    durationS: attachment.duration ?? null,
  };
}

/** What one interaction asks the queue for: a song to separate, or a vocal to mix over a backing track. */
interface ChatJob {
  readonly song: DiscordSongPick;
  readonly override: Partial<SeparationSettings>;
  /** a mix: `song` is the backing track */
  readonly mix?: { readonly vocal: DiscordSongPick; readonly settings: Partial<MixSettings> };
}

/** A picked song made into a job source, or a refusal to show (ephemerally, before any deferral). */
function sourceOf(
  pick: DiscordSongPick,
  options: DiscordBotOptions,
  noSong: string,
): { readonly source: JobSource } | { readonly refusal: string } {
  if (pick.kind === 'none') return { refusal: noSong };
  if (pick.kind === 'not-audio') return { refusal: `❌ ${pick.reason}` };
  if (pick.kind === 'link') return { source: { kind: 'url', url: pick.url, identity: pick.url } };
  const { attachment } = pick;
  const refusal = checkSongLimits(
    { sizeBytes: attachment.size, durationS: attachment.durationS ?? undefined },
    {
      maxDownloadBytes: null,
      maxInputBytes: options.intake.maxInputBytes,
      maxDurationS: options.intake.maxDurationS,
    },
  );
  if (refusal) return { refusal: `❌ ${refusal.message}` };
  return {
    source: {
      kind: 'platform-file',
      platform: DISCORD_PLATFORM,
      fileId: attachment.url,
      identity: `discord:${attachment.id}`,
      fileName: attachment.name.slice(0, 255),
      sizeBytes: attachment.size,
    },
  };
}

/**
 * What can be checked from the payload (type, size, length) is refused before the deferral, ephemerally;
 * then the deferral (public: the status and the result are for the channel), the link check and the submit,
 * whose refusals replace the public response with an ephemeral follow-up.
 */
async function submitSong(
  interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction,
  options: DiscordBotOptions,
  job: ChatJob,
  sourceMessageId: string | null,
  noSong: string,
): Promise<void> {
  const refuseNow = (text: string) => interaction.reply({ content: text, ...EPHEMERAL });
  const song = sourceOf(job.song, options, noSong);
  if ('refusal' in song)
    return void (await refuseNow(job.mix ? `Backing track: ${song.refusal}` : song.refusal));
  const vocal = job.mix ? sourceOf(job.mix.vocal, options, noSong) : null;
  if (vocal && 'refusal' in vocal) return void (await refuseNow(`Vocal recording: ${vocal.refusal}`));
  if (options.context.redis.status !== 'ready') return void (await refuseNow(`⚠️ ${QUEUE_UNAVAILABLE}`));

  await interaction.deferReply();
  const refuseLater = async (text: string) => {
    await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp({ content: text, ...EPHEMERAL });
  };
  for (const checked of [song.source, vocal?.source]) {
    if (checked?.kind !== 'url') continue;
    try {
      await checkLink(checked.url, { allowPrivate: options.intake.allowPrivateUrls });
    } catch (error) {
      if (isLinkFetchError(error)) return refuseLater(`❌ ${error.message}`);
      throw error;
    }
  }
  const settings = separationSettingsSchema.parse(job.override);
  const what = job.mix ? 'mix' : 'song';
  const ack = await interaction.editReply({ content: `⏳ Adding your ${what} to the queue…` });
  const replyTo = discordReplyTarget({
    channelId: interaction.channelId,
    guildId: interaction.guildId,
    userId: interaction.user.id,
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    tokenExpiresAt: interaction.createdTimestamp + INTERACTION_TOKEN_TTL_MS,
    responseMessageId: ack.id,
    sourceMessageId,
    attachmentSizeLimit: interaction.attachmentSizeLimit ?? null,
  });
  const outcome = await submitForChat(
    options.producer,
    {
      source: song.source,
      settings,
      ...(job.mix && vocal && 'source' in vocal
        ? { mix: { vocal: vocal.source, settings: job.mix.settings } }
        : {}),
      requester: requesterOf(interaction, options),
      replyTo,
    },
    { logger: options.logger, timeoutMs: options.submitTimeoutMs },
  );
  if (!outcome.accepted) return refuseLater(outcome.text);
  options.statusBoards?.recordEdit(discordBoardKey(interaction.token), outcome.text);
  await interaction.editReply({ content: outcome.text, components: [cancelRow(outcome.jobId)] });
}

async function cancelButton(interaction: ButtonInteraction, options: DiscordBotOptions): Promise<void> {
  const jobId = interaction.customId.slice(CANCEL_BUTTON_PREFIX.length);
  if (options.context.redis.status !== 'ready') {
    await interaction.reply({ content: `⚠️ ${QUEUE_UNAVAILABLE}`, ...EPHEMERAL });
    return;
  }
  const requester = requesterOf(interaction, options);
  const mine = (await listOpenRequests(options.context, requester)).some((open) => open.jobId === jobId);
  if (!mine) {
    await interaction.reply({
      content: 'Only the person who sent this song can cancel it (or it is done).',
      ...EPHEMERAL,
    });
    return;
  }
  await cancelOpenRequests(options.context, options.queue, requester, (open) => open.jobId === jobId);
  await interaction.update({ content: '✖️ Cancelled.', components: [] });
}

async function statsCommand(
  interaction: ChatInputCommandInteraction,
  options: DiscordBotOptions,
): Promise<void> {
  // The server permission hides the command from members; this list decides (server admins can override it).
  if (!options.adminIds.has(interaction.user.id)) {
    await interaction.reply({ content: '`/stats` is for the admins of this bot.', ...EPHEMERAL });
    return;
  }
  if (options.context.redis.status !== 'ready') {
    await interaction.reply({ content: `⚠️ ${QUEUE_UNAVAILABLE}`, ...EPHEMERAL });
    return;
  }
  await interaction.deferReply(EPHEMERAL);
  const stats = await adminStats(options.context, options.queue);
  await interaction.editReply({ content: `\`\`\`\n${formatAdminStats(stats).slice(0, 1980)}\n\`\`\`` });
}

function requesterOf(interaction: Interaction, options: DiscordBotOptions): Requester {
  const { user } = interaction;
  return {
    platform: DISCORD_PLATFORM,
    userId: user.id,
    displayName: (user.globalName ?? user.username).slice(0, 128),
    isAdmin: options.adminIds.has(user.id),
  };
}

/** An ephemeral message whatever state the interaction is in (used when a handler failed halfway). */
async function tellPrivately(interaction: RepliableInteraction, text: string): Promise<void> {
  try {
    if (interaction.deferred || interaction.replied)
      await interaction.followUp({ content: text, ...EPHEMERAL });
    else await interaction.reply({ content: text, ...EPHEMERAL });
  } catch {
    // the token may be gone; the failure is logged by the caller
  }
}
