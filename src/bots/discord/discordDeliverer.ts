import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import {
  type APIEmbed,
  DiscordAPIError,
  MessageFlags,
  type RawFile,
  type REST,
  RESTJSONErrorCodes,
  Routes,
} from 'discord.js';

import type { DeliveredFile, Deliverer, DeliveryBundle } from '../../queue/delivery.js';
import type { ReplyTarget } from '../../queue/jobSchema.js';
import { type ChatStems, fitStemsToChat, type StemDeliveryTools } from '../core/fitStemsToChat.js';
import {
  DISCORD_DEFAULT_LIMITS,
  discordLimits,
  type PlatformLimits,
  uploadBudget,
} from '../core/planDelivery.js';
import { statsBlock } from '../core/statusText.js';
import { type DiscordReplyTarget, discordTarget, tokenUsable } from './discordTarget.js';

export interface DiscordDelivererOptions extends StemDeliveryTools {
  /** REST with the bot token (channel and DM answers); interaction webhooks are called without it */
  readonly rest: REST;
}

/** A result ready to send: the JSON part and the files. */
interface ResultMessage {
  readonly body: { readonly embeds: APIEmbed[]; readonly attachments: { id: number; filename: string }[] };
  readonly files: RawFile[];
  readonly largestBytes: number;
}

/** Where an answer can go, tried in this order (design §2: never lose a job because its token expired). */
type Route = 'interaction' | 'channel' | 'dm';

/** Discord's limits on an embed description and on message content, characters. */
const DESCRIPTION_LIMIT = 4096;
const CONTENT_LIMIT = 2000;
const PICTURE_NAME = 'spectrogram.png';
const EMBED_COLOUR = 0x5865f2;
/** Times an upload refused as too large (413) is fitted again to the size that failed. */
const MAX_REFITS = 3;

/**
 * Answers Discord requests from the worker (design §2, §5 `discord/`): the stems as attachments sized to the
 * interaction's `attachment_size_limit` (smaller encodings, then previews and signed links), the spectrogram as
 * the embed image and the stats in the embed. While the interaction token lives (15 minutes, less a margin for
 * the upload) the status message becomes the answer; afterwards the answer is a reply in the channel, or a DM
 * when the channel refuses (no access, user-installed app). Failures are told privately: an ephemeral
 * follow-up while the token lives, else a DM.
 */
export class DiscordDeliverer implements Deliverer {
  readonly #options: DiscordDelivererOptions;

  constructor(options: DiscordDelivererOptions) {
    this.#options = options;
  }

  async deliver(replyTo: ReplyTarget, bundle: DeliveryBundle): Promise<void> {
    const target = discordTarget(replyTo);
    const scratch = await mkdtemp(join(this.#options.workDir, 'discord-'));
    try {
      const fitted = new Map<number, Promise<ChatStems>>();
      const fit = (limits: PlatformLimits) => {
        const known = fitted.get(limits.maxUploadBytes);
        if (known) return known;
        const folder = join(scratch, String(fitted.size));
        const fitting = mkdir(folder).then(() =>
          fitStemsToChat(bundle, {
            limits,
            tools: this.#options.tools,
            shelf: this.#options.shelf,
            scratch: folder,
            logger: this.#options.logger,
            platform: 'Discord',
            noLinksAdvice: 'Choose MP3 or fewer stems in the options of /separate and send the song again.',
          }),
        );
        fitted.set(limits.maxUploadBytes, fitting);
        return fitting;
      };
      const routes: Route[] = tokenUsable(target) ? ['interaction', 'channel', 'dm'] : ['channel', 'dm'];
      for (const route of routes) {
        // A DM has no server boosts: the default limit applies there.
        let limits = route === 'dm' ? DISCORD_DEFAULT_LIMITS : discordLimits(target.attachmentSizeLimit);
        for (let attempt = 0; ; attempt++) {
          const message = await this.#compose(bundle, await fit(limits), limits);
          try {
            await this.#send(route, target, message);
            if (route === 'channel')
              await this.#closeStatus(target, '✅ Done: your stems are in the reply below.');
            return;
          } catch (error) {
            const largest = message.largestBytes;
            if (isTooLarge(error) && attempt < MAX_REFITS && largest > 0) {
              // the limit Discord applies is lower than the one it announced: fit below what failed
              limits = { ...limits, maxUploadBytes: Math.min(limits.maxUploadBytes, largest) - 1 };
              this.#options.logger.warn(
                { jobId: bundle.jobId, route, largest },
                'Discord refused the upload size',
              );
              continue;
            }
            if (!isRefusal(route, error)) throw error; // the job is retried; nothing was sent
            this.#options.logger.info(
              { jobId: bundle.jobId, route, err: String(error) },
              'Discord: trying elsewhere',
            );
            break;
          }
        }
      }
      this.#options.logger.warn({ jobId: bundle.jobId }, 'Discord user unreachable: result dropped');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async fail(replyTo: ReplyTarget, reason: string): Promise<void> {
    const target = discordTarget(replyTo);
    const { rest, logger } = this.#options;
    const text = clip(`❌ ${reason}`, CONTENT_LIMIT);
    if (tokenUsable(target, Date.now(), 10_000)) {
      try {
        // errors are ephemeral: only the person who asked sees them; the public status message goes away
        await rest.post(Routes.webhook(target.applicationId, target.interactionToken), {
          auth: false,
          body: { content: text, flags: MessageFlags.Ephemeral },
        });
        await rest
          .delete(Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'), {
            auth: false,
          })
          .catch(() => undefined);
        return;
      } catch (error) {
        if (!isRefusal('interaction', error)) throw error;
      }
    }
    for (const route of ['dm', 'channel'] as const) {
      try {
        await this.#post(route, target, { content: text }, []);
        await this.#closeStatus(target, '❌ This song could not be separated.');
        return;
      } catch (error) {
        if (!isRefusal(route, error)) throw error;
      }
    }
    logger.warn({ userId: target.userId }, 'Discord user unreachable: failure notice dropped');
  }

  /** The answer's body and files. The picture goes only when it fits too (a tiny limit gets the stats alone). */
  async #compose(bundle: DeliveryBundle, stems: ChatStems, limits: PlatformLimits): Promise<ResultMessage> {
    const files: RawFile[] = [];
    for (const file of stems.files) files.push({ name: file.name, data: await readFile(file.path) });
    const picture = bundle.picture === null ? null : await readFile(bundle.picture);
    const withPicture = picture !== null && picture.length <= uploadBudget(limits);
    if (withPicture) files.push({ name: PICTURE_NAME, data: picture, contentType: 'image/png' });
    return {
      body: {
        embeds: [resultEmbed(bundle, stems, withPicture)],
        attachments: files.map((file, id) => ({ id, filename: file.name })),
      },
      files,
      largestBytes: Math.max(0, ...files.map((file) => (file.data as Buffer).length)),
    };
  }

  async #send(route: Route, target: DiscordReplyTarget, message: ResultMessage): Promise<void> {
    if (route === 'interaction') {
      await this.#options.rest.patch(
        Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'),
        { auth: false, body: { ...message.body, content: '', components: [] }, files: message.files },
      );
      return;
    }
    await this.#post(route, target, message.body, message.files);
  }

  /** A message in the channel (a reply, mentioning the user) or in the user's DMs. */
  async #post(
    route: 'channel' | 'dm',
    target: DiscordReplyTarget,
    body: object,
    files: RawFile[],
  ): Promise<void> {
    const { rest } = this.#options;
    if (route === 'dm') {
      const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: target.userId } })) as {
        id: string;
      };
      await rest.post(Routes.channelMessages(dm.id), { body, files });
      return;
    }
    const replyTo = target.sourceMessageId ?? target.responseMessageId;
    await rest.post(Routes.channelMessages(target.channelId), {
      body: {
        ...body,
        content: `<@${target.userId}>`,
        allowed_mentions: { users: [target.userId] },
        ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
      },
      files,
    });
  }

  /**
   * After an answer outside the interaction: the status message (the bot's own) no longer says "Separating…"
   * with a Cancel button. Best effort: the bot may not see the channel.
   */
  async #closeStatus(target: DiscordReplyTarget, text: string): Promise<void> {
    if (target.responseMessageId === null) return;
    await this.#options.rest
      .patch(Routes.channelMessage(target.channelId, target.responseMessageId), {
        body: { content: text, components: [] },
      })
      .catch(() => undefined);
  }
}

/** The embed of a result: the song, the stats, what changed and the links, the spectrogram as its image. */
function resultEmbed(bundle: DeliveryBundle, stems: ChatStems, withPicture: boolean): APIEmbed {
  const description = [statsBlock(bundle.stats), ...(stems.notes.length > 0 ? ['', ...stems.notes] : [])];
  return {
    title: clip(`🎵 ${bundle.title}`, 256),
    description: clip(description.join('\n'), DESCRIPTION_LIMIT),
    color: EMBED_COLOUR,
    ...(withPicture ? { image: { url: `attachment://${PICTURE_NAME}` } } : {}),
    footer: { text: stemList(stems.files) },
  };
}

function stemList(files: readonly DeliveredFile[]): string {
  if (files.length === 0) return 'Stems: by link';
  return `Stems: ${files.map((file) => file.name).join(' · ')}`.slice(0, 2048);
}

/** 413, or Discord's "Request entity too large" (40005): a file over the size this channel takes. */
function isTooLarge(error: unknown): boolean {
  return (
    error instanceof DiscordAPIError &&
    (error.status === 413 || error.code === RESTJSONErrorCodes.RequestEntityTooLarge)
  );
}

/**
 * Whether `route` is closed for good, so the next one is tried: the token died (50027, unknown webhook), the
 * status message was deleted, the bot cannot see or write in the channel, the user takes no DMs. Anything else
 * (5xx, network) is thrown so the job is retried.
 */
function isRefusal(route: Route, error: unknown): boolean {
  if (!(error instanceof DiscordAPIError)) return false;
  if (error.status === 401 || error.status === 403) return true;
  if (error.status === 404) return true; // unknown webhook, message, channel or interaction
  const closed: readonly (number | string)[] = [
    RESTJSONErrorCodes.InvalidWebhookToken,
    RESTJSONErrorCodes.UnknownWebhook,
    RESTJSONErrorCodes.UnknownMessage,
    RESTJSONErrorCodes.UnknownChannel,
    RESTJSONErrorCodes.MissingAccess,
    RESTJSONErrorCodes.MissingPermissions,
    RESTJSONErrorCodes.CannotSendMessagesToThisUser,
  ];
  return closed.includes(error.code) || (route === 'channel' && error.status === 400);
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
