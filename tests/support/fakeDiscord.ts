/**
 * A local fake of Discord's REST API, attachment CDN and gateway for end-to-end tests. The real discord.js
 * client (`rest: { api: fake.apiUrl }`) and @discordjs/rest used alone run against it unmodified: the client
 * fetches GET /gateway/bot, connects to the fake's websocket and receives the interactions a test dispatches,
 * while every REST call the bot makes is recorded with what the fake answered. Errors, size limits and the
 * interaction timing rules are Discord's, so a bot that copes here copes on Discord too.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { deflateSync } from 'node:zlib';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  ComponentType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageReferenceType,
  MessageType,
  PermissionFlagsBits,
  type APIApplicationCommand,
  type APIAttachment,
  type APIChannel,
  type APIEmbed,
  type APIInteraction,
  type APIMessage,
  type APIUser,
  type ApplicationFlags,
  type GatewayReadyDispatchData,
  type RESTGetAPIGatewayBotResult,
  type RESTPostAPIInteractionCallbackWithResponseResult,
  type UserFlags,
} from 'discord-api-types/v10';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { multipartBoundary, parseMultipart } from './multipart.js';

/**
 * Parsed JSON as the bot sent it (or as the fake stores it). `any`, like `JSON.parse`'s result, so tests can
 * reach into request bodies and messages without a cast at every step.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** One file part of a multipart request, as the fake received it. */
export interface UploadedFile {
  readonly field: string;
  readonly name: string;
  readonly contentType: string;
  readonly content: Buffer;
}

/** One HTTP request (REST or CDN), with what the fake answered. */
export interface RecordedRequest {
  /** 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' (HEAD on the CDN). */
  readonly method: string;
  /** The URL path without the query, percent-decoded: '/api/v10/webhooks/1/tok/messages/@original'. */
  readonly path: string;
  /**
   * The route it matched, without '/api/v10' and with parameters named, e.g.
   * '/webhooks/:app/:token/messages/@original' or '/channels/:channel/messages'; CDN downloads are
   * '/cdn/attachments'; a path no route matches is recorded as sent.
   */
  readonly route: string;
  readonly query: Record<string, string>;
  /** The Authorization header as sent. */
  readonly auth: string | null;
  /** The parsed JSON body, or the parsed `payload_json` of a multipart body, else null. */
  readonly body: Json;
  readonly files: readonly UploadedFile[];
  /** The HTTP status the fake answered. */
  readonly status: number;
  /** Date.now() when the request arrived. */
  readonly at: number;
}

/** An answer `failNext` injects; a 429 gets Discord's rate-limit headers unless `headers` sets them. */
export interface InjectedAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A slash command option; an attachment option puts the attachment in `resolved.attachments`. */
export type SlashCommandOption =
  | { name: string; type: ApplicationCommandOptionType; value: string | number | boolean }
  | { name: string; type: ApplicationCommandOptionType.Attachment; attachment: APIAttachment };

/** Who invokes an interaction and where; everything has a realistic default. */
export interface InteractionInput {
  /** Merged over the default user (id '1400000000000000001', 'ada'). */
  user?: Partial<APIUser>;
  /** Default: the default guild channel, or the user's DM channel when guildId is null. */
  channelId?: string;
  /** null = the bot's DM with the user; default '1200000000000000001'. */
  guildId?: string | null;
  /** Bytes; each uploaded file above it is refused with 413 40005. Default 10 MiB. */
  attachmentSizeLimit?: number;
  /** How long the interaction token works on the webhook routes; default 15 minutes. */
  tokenTtlMs?: number;
  /**
   * When the interaction was created (the time in its snowflake id, which discord.js reads as
   * `createdTimestamp`); default now. The 3-second callback deadline still counts from dispatch.
   */
  createdAt?: number;
  /**
   * The upload size the fake actually enforces on this interaction's webhooks, when it is lower than the
   * `attachmentSizeLimit` announced (users report Discord refusing files under the stated limit).
   */
  enforcedUploadLimit?: number;
  /** The bot's permissions in the channel, a decimal bitfield string. */
  appPermissions?: string;
}

export interface SlashCommandInput extends InteractionInput {
  name: string;
  options?: SlashCommandOption[];
}

export interface MessageCommandInput extends InteractionInput {
  name: string;
  /** The message the command is run on; its author defaults to the invoking user. */
  target: { content?: string; attachments?: APIAttachment[]; authorId?: string; id?: string };
}

export interface ButtonPressInput extends InteractionInput {
  customId: string;
  /** The message the button is on: a message the bot sent, or any id (a bot message is then made up). */
  messageId: string;
}

export interface DispatchedInteraction {
  readonly id: string;
  readonly token: string;
  readonly payload: APIInteraction;
}

/** A message the bot created or edited, as the fake keeps it (an APIMessage plus bookkeeping). */
export type BotMessage = APIMessage & {
  /** The token of the interaction this message answers, for interaction responses and follow-ups. */
  interaction_token?: string;
  deleted?: boolean;
};

/** The handle a test gets: where to point discord.js, what the bot did, and knobs to steer the fake. */
export interface FakeDiscord {
  /** 'http://127.0.0.1:PORT/api', for discord.js `rest.api` / DISCORD_API_URL (REST appends /v10/…). */
  readonly apiUrl: string;
  /** 'ws://127.0.0.1:PORT/gateway', as GET /gateway/bot returns it. */
  readonly gatewayUrl: string;
  readonly token: string;
  /** Also the bot user's id. */
  readonly applicationId: string;
  readonly botUser: APIUser;
  /** Every REST and CDN request in the order the requests were fully received. */
  readonly requests: RecordedRequest[];
  /** IDENTIFY payloads (`d`) received on the gateway, to assert intents. */
  readonly identifies: Json[];
  /** CDN paths (percent-decoded, without the query) served successfully to a GET. */
  readonly downloads: string[];
  /** Messages the bot created or edited, by id: live `BotMessage` objects, updated by later edits. */
  readonly messages: Map<string, Json>;
  /** Registers a file on the fake CDN and returns the attachment object as Discord puts it in payloads. */
  addAttachment(file: {
    filename: string;
    content: Buffer;
    contentType?: string;
    durationSecs?: number;
    /** URL expiry; default 24 h. 0 makes an already expired URL. */
    ttlMs?: number;
    channelId?: string;
  }): APIAttachment;
  /** Sends INTERACTION_CREATE for a slash command to every identified gateway connection. */
  slashCommand(input: SlashCommandInput): DispatchedInteraction;
  /** Sends INTERACTION_CREATE for a message context-menu command (data.type 3) with resolved.messages. */
  messageCommand(input: MessageCommandInput): DispatchedInteraction;
  /** Sends INTERACTION_CREATE for a button press (MESSAGE_COMPONENT, component_type 2) on a message. */
  buttonPress(input: ButtonPressInput): DispatchedInteraction;
  /** Sends op 7 RECONNECT on every identified connection; discord.js then resumes (op 6 → RESUMED). */
  requestReconnect(): void;
  /**
   * Kills an interaction token now: webhook routes answer 401 50027 'Invalid Webhook Token' and the callback
   * 404 10062 'Unknown interaction'.
   */
  expireToken(token: string): void;
  /** Creating or editing messages in the channel answers this error (default 403 50013). */
  refuseChannel(channelId: string, code?: number): void;
  /** Messages to this user's DM channel answer 403 50007 'Cannot send messages to this user'. */
  refuseDm(userId: string): void;
  /** Channel messages with a file above `bytes` answer 413 40005 (default 10 MiB). */
  setChannelUploadLimit(channelId: string, bytes: number): void;
  /** The next `times` requests to `route` with `method` get this answer instead of the real one. */
  failNext(method: string, route: string, answer: InjectedAnswer, times?: number): void;
  /** Application commands as last bulk-overwritten, globally or for a guild. */
  registeredCommands(guildId?: string): APIApplicationCommand[];
  requestsTo(method: string, route: string): RecordedRequest[];
  /** Polls `find` every 10 ms until it returns something truthy; rejects after timeoutMs (default 5 s). */
  waitFor<T>(find: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Closes gateway sockets and the server. Destroy discord.js clients first, or they try to reconnect. */
  close(): Promise<void>;
}

export interface FakeDiscordOptions {
  token?: string;
  applicationId?: string;
  /** How long after dispatch an interaction can still be acknowledged; Discord's 3 s by default. */
  callbackDeadlineMs?: number;
}

const API_PREFIX = '/api/v10';
const DISCORD_EPOCH = 1_420_070_400_000n;
const DEFAULT_APPLICATION_ID = '1100000000000000001';
const DEFAULT_GUILD_ID = '1200000000000000001';
const DEFAULT_CHANNEL_ID = '1300000000000000001';
const DEFAULT_USER_ID = '1400000000000000001';
const OWNER_ID = '1500000000000000001';
const HEARTBEAT_INTERVAL_MS = 41_250;
const CALLBACK_DEADLINE_MS = 3_000;
const TOKEN_TTL_MS = 15 * 60_000;
const CDN_URL_TTL_MS = 24 * 60 * 60_000;
/** attachment_size_limit of an unboosted guild, and the upload limit of channel messages. */
const DEFAULT_UPLOAD_LIMIT = 10 << 20;
const MAX_CONTENT_LENGTH = 2000;
const MAX_EMBEDS = 10;
const MAX_ATTACHMENTS = 10;
const MAX_EMBED_DESCRIPTION = 4096;
const MAX_REFRESH_URLS = 50;
const NO_USER_FLAGS = 0 as UserFlags;
const NO_MESSAGE_FLAGS = 0 as MessageFlags;
const CDN_PATH = /^\/(?:ephemeral-)?attachments\/\d+\/\d+\/[^/]+$/;

/** What a default bot may do in a channel: read, talk, embed, attach. */
const DEFAULT_APP_PERMISSIONS = (
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.UseExternalEmojis |
  PermissionFlagsBits.UseApplicationCommands
).toString();

/** Flags a new interaction message may carry; Discord drops the others. */
const INTERACTION_FLAGS =
  MessageFlags.Ephemeral | MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications;
const CHANNEL_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications;

/** Response types Discord accepts for each interaction type. */
const ALLOWED_RESPONSES: Partial<Record<InteractionType, InteractionResponseType[]>> = {
  [InteractionType.Ping]: [InteractionResponseType.Pong],
  [InteractionType.ApplicationCommand]: [
    InteractionResponseType.ChannelMessageWithSource,
    InteractionResponseType.DeferredChannelMessageWithSource,
    InteractionResponseType.Modal,
    InteractionResponseType.PremiumRequired,
    InteractionResponseType.LaunchActivity,
  ],
  [InteractionType.MessageComponent]: [
    InteractionResponseType.ChannelMessageWithSource,
    InteractionResponseType.DeferredChannelMessageWithSource,
    InteractionResponseType.DeferredMessageUpdate,
    InteractionResponseType.UpdateMessage,
    InteractionResponseType.Modal,
    InteractionResponseType.PremiumRequired,
    InteractionResponseType.LaunchActivity,
  ],
  [InteractionType.ApplicationCommandAutocomplete]: [
    InteractionResponseType.ApplicationCommandAutocompleteResult,
  ],
  [InteractionType.ModalSubmit]: [
    InteractionResponseType.ChannelMessageWithSource,
    InteractionResponseType.DeferredChannelMessageWithSource,
    InteractionResponseType.DeferredMessageUpdate,
    InteractionResponseType.UpdateMessage,
  ],
};

/** Channel refusals `refuseChannel` knows the status and text of; others answer 403 with a generic text. */
const REFUSALS: Record<number, [status: number, message: string]> = {
  10003: [404, 'Unknown Channel'],
  50001: [403, 'Missing Access'],
  50007: [403, 'Cannot send messages to this user'],
  50008: [400, 'Cannot send messages in a non-text channel'],
  50013: [403, 'Missing Permissions'],
};

/** content_type Discord gives an upload, by extension (it does not trust the part's content-type). */
const CONTENT_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/x-wav',
  flac: 'audio/flac',
  mp4: 'video/mp4',
  webm: 'video/webm',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  zip: 'application/zip',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
};

type Params = Record<string, unknown>;

/** A Discord error answer, `{ code, message }` plus `errors` for form validation. */
class DiscordError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Params,
  ) {
    super(message);
  }
}

const unauthorized = (): DiscordError => new DiscordError(401, 0, '401: Unauthorized');
const notFound = (): DiscordError => new DiscordError(404, 0, '404: Not Found');
const methodNotAllowed = (): DiscordError => new DiscordError(405, 0, '405: Method Not Allowed');
const unknownInteraction = (): DiscordError => new DiscordError(404, 10062, 'Unknown interaction');
const unknownMessage = (): DiscordError => new DiscordError(404, 10008, 'Unknown Message');
const unknownChannel = (): DiscordError => new DiscordError(404, 10003, 'Unknown Channel');
const unknownUser = (): DiscordError => new DiscordError(404, 10013, 'Unknown User');
const unknownWebhook = (): DiscordError => new DiscordError(404, 10015, 'Unknown Webhook');
const invalidWebhookToken = (): DiscordError => new DiscordError(401, 50027, 'Invalid Webhook Token');
const alreadyAcknowledged = (): DiscordError =>
  new DiscordError(400, 40060, 'Interaction has already been acknowledged.');
const tooLarge = (): DiscordError => new DiscordError(413, 40005, 'Request entity too large');
const emptyMessage = (): DiscordError => new DiscordError(400, 50006, 'Cannot send an empty message');
const invalidJson = (): DiscordError =>
  new DiscordError(400, 50109, 'The request body contains invalid JSON.');
const invalidForm = (errors: Params): DiscordError =>
  new DiscordError(400, 50035, 'Invalid Form Body', errors);

/** Discord's nested form error: `{ a: { 0: { b: { _errors: [{ code, message }] } } } }`. */
function fieldError(path: (string | number)[], code: string, message: string): Params {
  let errors: Params = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return errors;
}

function refusal(code: number): DiscordError {
  const [status, message] = REFUSALS[code] ?? [403, `Refused by the fake Discord (code ${code})`];
  return new DiscordError(status, code, message);
}

interface ApiRequest {
  readonly params: Record<string, string>;
  readonly query: Record<string, string>;
  readonly body: Json;
  readonly files: UploadedFile[];
}

interface Answer {
  status: number;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (CDN bytes and texts). */
  raw?: Buffer | string;
  headers?: Record<string, string>;
}

interface RouteSpec {
  readonly method: string;
  readonly route: string;
  /** 'bot' routes need `Authorization: Bot <token>`; interaction routes carry their token in the path. */
  readonly auth: 'bot' | 'none';
  readonly handle: (request: ApiRequest) => Answer;
}

interface InteractionState {
  readonly id: string;
  readonly token: string;
  readonly type: InteractionType;
  readonly name?: string;
  readonly commandType?: ApplicationCommandType;
  readonly user: APIUser;
  readonly channelId: string;
  readonly guildId: string | null;
  readonly owners: Record<string, string>;
  readonly dispatchedAt: number;
  readonly expiresAt: number;
  readonly attachmentSizeLimit: number;
  readonly targetMessageId?: string;
  readonly componentMessageId?: string;
  expired: boolean;
  /** Set once the callback succeeded. */
  responseType?: InteractionResponseType;
  /** The message '@original' names: the response, or for component updates the message clicked. */
  originalId?: string;
  readonly followups: Set<string>;
}

interface CdnFile {
  readonly content: Buffer;
  readonly contentType: string;
}

interface GatewayConnection {
  readonly socket: WebSocket;
  identified: boolean;
  /** The intents of its IDENTIFY: guild events go only to connections with the Guilds intent. */
  intents: number;
  /** IDENTIFY asked for `compress: true`: payloads then go out zlib-deflated in binary frames. */
  compress: boolean;
  sessionId?: string;
  seq: number;
}

interface MessageDraft {
  channelId: string;
  body: Params;
  files: UploadedFile[];
  flags: number;
  type: MessageType;
  interaction?: InteractionState;
  /** For follow-ups: the original response's id, for interaction_metadata. */
  followupOf?: string;
  reference?: APIMessage;
  /** A deferred response starts empty. */
  allowEmpty?: boolean;
}

/** Starts the fake on an ephemeral 127.0.0.1 port. */
export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const fake = new FakeDiscordServer(options);
  await fake.listen();
  return fake;
}

class FakeDiscordServer implements FakeDiscord {
  readonly requests: RecordedRequest[] = [];
  readonly identifies: Json[] = [];
  readonly downloads: string[] = [];
  readonly messages = new Map<string, BotMessage>();
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: APIUser;
  private readonly callbackDeadlineMs: number;
  private origin = '';
  private increment = 0;
  /** Signs CDN URLs (`hm`), so a tampered or made-up URL is refused as on Discord. */
  private readonly cdnSecret = randomBytes(32);
  private readonly server: Server;
  private readonly gateway: WebSocketServer;
  private readonly connections = new Set<GatewayConnection>();
  private readonly sessions = new Map<string, { seq: number }>();
  private readonly interactions = new Map<string, InteractionState>();
  private readonly interactionsByToken = new Map<string, InteractionState>();
  /** Messages the bot did not write (context-menu targets, made-up component messages). */
  private readonly otherMessages = new Map<string, APIMessage>();
  private readonly cdnFiles = new Map<string, CdnFile>();
  private readonly users = new Map<string, APIUser>();
  private readonly channels = new Map<string, APIChannel>();
  private readonly dmChannels = new Map<string, string>();
  /** The guilds the bot is in, with their channel ids, as GUILD_CREATE announces them. */
  private readonly guilds = new Map<string, Set<string>>();
  private readonly commandIds = new Map<string, string>();
  private readonly commands = new Map<string, APIApplicationCommand[]>();
  private readonly refusedChannels = new Map<string, number>();
  private readonly refusedDms = new Set<string>();
  private readonly uploadLimits = new Map<string, number>();
  private readonly failures = new Map<string, InjectedAnswer[]>();
  private readonly waits = new Set<() => void>();
  private readonly routes: RouteSpec[];

  constructor(options: FakeDiscordOptions) {
    this.applicationId = options.applicationId ?? DEFAULT_APPLICATION_ID;
    this.token = options.token ?? defaultToken(this.applicationId);
    this.callbackDeadlineMs = options.callbackDeadlineMs ?? CALLBACK_DEADLINE_MS;
    this.botUser = {
      id: this.applicationId,
      username: 'Stembot',
      global_name: null,
      discriminator: '4821',
      avatar: null,
      bot: true,
      public_flags: NO_USER_FLAGS,
      flags: NO_USER_FLAGS,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
    };
    this.users.set(this.botUser.id, this.botUser);
    this.joinGuild(DEFAULT_GUILD_ID, DEFAULT_CHANNEL_ID);
    this.server = createServer((req, res) => {
      this.handleHttp(req, res).catch((error: unknown) => answerUnexpected(res, error));
    });
    this.gateway = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.routes = this.makeRoutes();
  }

  get apiUrl(): string {
    return `${this.origin}/api`;
  }

  get gatewayUrl(): string {
    return `${this.origin.replace(/^http/, 'ws')}/gateway`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
  }

  addAttachment(file: {
    filename: string;
    content: Buffer;
    contentType?: string;
    durationSecs?: number;
    ttlMs?: number;
    channelId?: string;
  }): APIAttachment {
    const id = this.snowflake();
    const contentType = file.contentType ?? contentTypeOf(file.filename, 'application/octet-stream');
    const path = cdnPath(file.channelId ?? DEFAULT_CHANNEL_ID, id, file.filename);
    this.cdnFiles.set(path, { content: file.content, contentType });
    const url = this.signedUrl(path, file.ttlMs ?? CDN_URL_TTL_MS);
    return compact({
      id,
      filename: file.filename,
      size: file.content.length,
      url,
      proxy_url: url,
      content_type: contentType,
      duration_secs: file.durationSecs,
    }) as APIAttachment;
  }

  slashCommand(input: SlashCommandInput): DispatchedInteraction {
    const attachments: Record<string, APIAttachment> = {};
    const options = (input.options ?? []).map((option) => {
      if ('attachment' in option) {
        attachments[option.attachment.id] = option.attachment;
        return {
          name: option.name,
          type: ApplicationCommandOptionType.Attachment,
          value: option.attachment.id,
        };
      }
      return { name: option.name, type: option.type, value: option.value };
    });
    const data = compact({
      id: this.commandId(input.name, ApplicationCommandType.ChatInput),
      name: input.name,
      type: ApplicationCommandType.ChatInput,
      options: options.length > 0 ? options : undefined,
      resolved: Object.keys(attachments).length > 0 ? { attachments } : undefined,
    });
    return this.dispatchInteraction(input, {
      type: InteractionType.ApplicationCommand,
      data,
      name: input.name,
      commandType: ApplicationCommandType.ChatInput,
    });
  }

  messageCommand(input: MessageCommandInput): DispatchedInteraction {
    const user = this.makeUser(input.user);
    const { channelId } = this.placeOf(input, user.id);
    const { target } = input;
    const author =
      target.authorId === undefined || target.authorId === user.id
        ? user
        : this.makeUser({ id: target.authorId });
    const message: APIMessage = {
      ...this.messageSkeleton(target.id ?? this.snowflake(), channelId, author),
      content: target.content ?? '',
      attachments: target.attachments ?? [],
    };
    this.otherMessages.set(message.id, message);
    const data = {
      id: this.commandId(input.name, ApplicationCommandType.Message),
      name: input.name,
      type: ApplicationCommandType.Message,
      target_id: message.id,
      resolved: { messages: { [message.id]: message } },
    };
    return this.dispatchInteraction(
      { ...input, user },
      {
        type: InteractionType.ApplicationCommand,
        data,
        name: input.name,
        commandType: ApplicationCommandType.Message,
        targetMessageId: message.id,
      },
    );
  }

  buttonPress(input: ButtonPressInput): DispatchedInteraction {
    const known = this.findMessage(input.messageId);
    const user = this.makeUser(input.user);
    const place = this.placeOf({ ...input, channelId: input.channelId ?? known?.channel_id }, user.id);
    const where = { ...input, user, ...place };
    let message: APIMessage;
    if (known) {
      message = structuredClone(apiMessage(known));
    } else {
      message = {
        ...this.messageSkeleton(input.messageId, where.channelId, this.botUser),
        components: [
          {
            type: ComponentType.ActionRow,
            components: [
              { type: ComponentType.Button, style: 1, label: input.customId, custom_id: input.customId },
            ],
          },
        ],
      };
      this.otherMessages.set(message.id, message);
    }
    return this.dispatchInteraction(where, {
      type: InteractionType.MessageComponent,
      data: { custom_id: input.customId, component_type: ComponentType.Button },
      message,
      componentMessageId: message.id,
    });
  }

  requestReconnect(): void {
    for (const connection of this.connections) {
      if (!connection.identified) continue;
      this.sendGateway(connection, { op: GatewayOpcodes.Reconnect, d: null, s: null, t: null });
    }
  }

  expireToken(token: string): void {
    const state = this.interactionsByToken.get(token);
    if (!state) throw new Error('expireToken: no interaction has this token');
    state.expired = true;
  }

  refuseChannel(channelId: string, code = 50013): void {
    this.refusedChannels.set(channelId, code);
  }

  refuseDm(userId: string): void {
    this.refusedDms.add(userId);
  }

  setChannelUploadLimit(channelId: string, bytes: number): void {
    this.uploadLimits.set(channelId, bytes);
  }

  failNext(method: string, route: string, answer: InjectedAnswer, times = 1): void {
    const key = `${method.toUpperCase()} ${route}`;
    const queue = this.failures.get(key) ?? [];
    for (let i = 0; i < times; i++) queue.push(answer);
    this.failures.set(key, queue);
  }

  registeredCommands(guildId?: string): APIApplicationCommand[] {
    return this.commands.get(guildId ?? 'global') ?? [];
  }

  requestsTo(method: string, route: string): RecordedRequest[] {
    const wanted = method.toUpperCase();
    return this.requests.filter((request) => request.method === wanted && request.route === route);
  }

  waitFor<T>(find: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const stop = (): void => {
        clearTimeout(timer);
        this.waits.delete(cancel);
      };
      const cancel = (): void => {
        stop();
        reject(new Error('fake Discord closed during waitFor'));
      };
      const poll = (): void => {
        let found: T | undefined | null | false;
        try {
          found = find();
        } catch (error) {
          stop();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (found !== undefined && found !== null && found !== false) {
          stop();
          resolve(found);
        } else if (Date.now() - started >= timeoutMs) {
          stop();
          const seen = this.requests.map((r) => `${r.method} ${r.route} ${r.status}`).join(', ') || 'none';
          reject(new Error(`waitFor timed out after ${timeoutMs} ms; requests so far: ${seen}`));
        } else {
          timer = setTimeout(poll, 10);
        }
      };
      this.waits.add(cancel);
      poll();
    });
  }

  async close(): Promise<void> {
    for (const cancel of [...this.waits]) cancel();
    for (const connection of this.connections) connection.socket.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.gateway.close(() => resolve()));
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise((resolve) => setImmediate(resolve)); // let the last answers flush
    this.server.closeAllConnections();
    await closed;
  }

  // --- HTTP layer ---

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(url.searchParams);
    const auth = req.headers.authorization ?? null;
    const raw = await readBody(req);
    let route = safeDecode(
      url.pathname.startsWith(`${API_PREFIX}/`) ? url.pathname.slice(API_PREFIX.length) : url.pathname,
    );
    let body: Json = null;
    let files: UploadedFile[] = [];
    let answer: Answer;
    try {
      if (CDN_PATH.test(url.pathname)) {
        route = '/cdn/attachments';
        answer = this.takeFailure(method, route) ?? this.serveCdn(method, url);
      } else {
        if (!url.pathname.startsWith(`${API_PREFIX}/`)) throw notFound();
        const match = this.matchRoute(method, url.pathname.slice(API_PREFIX.length));
        route = match.route;
        ({ body, files } = parseBody(req.headers['content-type'] ?? '', raw));
        if (!match.known) throw notFound();
        if (!match.spec) throw methodNotAllowed();
        answer =
          this.takeFailure(method, route) ??
          this.answerRoute(match.spec, auth, {
            params: match.params,
            query,
            body,
            files,
          });
      }
    } catch (error) {
      if (!(error instanceof DiscordError)) throw error;
      answer = { status: error.status, body: errorBody(error) };
    }
    this.requests.push({
      method,
      path: safeDecode(url.pathname),
      route,
      query,
      auth,
      body,
      files,
      status: answer.status,
      at,
    });
    send(res, method, answer);
  }

  private answerRoute(spec: RouteSpec, auth: string | null, request: ApiRequest): Answer {
    if (spec.auth === 'bot' && auth !== `Bot ${this.token}`) throw unauthorized();
    return spec.handle(request);
  }

  /** The first route whose pattern fits the path (and method); `known` is false when no pattern fits. */
  private matchRoute(
    method: string,
    path: string,
  ): { route: string; known: boolean; spec?: RouteSpec; params: Record<string, string> } {
    const segments = path.split('/').slice(1);
    let fallback: { route: string; params: Record<string, string> } | undefined;
    for (const spec of this.routes) {
      const params = matchPattern(spec.route, segments);
      if (!params) continue;
      if (spec.method === method) return { route: spec.route, known: true, spec, params };
      fallback ??= { route: spec.route, params };
    }
    return fallback ? { ...fallback, known: true } : { route: safeDecode(path), known: false, params: {} };
  }

  /** The next injected answer for this method and route, with Discord's rate-limit headers on a 429. */
  private takeFailure(method: string, route: string): Answer | undefined {
    const injected = this.failures.get(`${method} ${route}`)?.shift();
    if (!injected) return undefined;
    const headers: Record<string, string> = {};
    if (injected.status === 429) {
      const body = (injected.body ?? {}) as { retry_after?: unknown; global?: unknown };
      const retryAfter = typeof body.retry_after === 'number' ? body.retry_after : 1;
      Object.assign(headers, {
        'retry-after': String(retryAfter),
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
        'x-ratelimit-reset-after': retryAfter.toFixed(3),
        'x-ratelimit-bucket': createHash('sha1').update(route).digest('hex').slice(0, 32),
        'x-ratelimit-scope': body.global === true ? 'global' : 'user',
        ...(body.global === true ? { 'x-ratelimit-global': 'true' } : {}),
      });
    }
    for (const [name, value] of Object.entries(injected.headers ?? {})) headers[name.toLowerCase()] = value;
    return { status: injected.status, body: injected.body, headers };
  }

  private makeRoutes(): RouteSpec[] {
    const bot = (method: string, route: string, handle: RouteSpec['handle']): RouteSpec => ({
      method,
      route,
      auth: 'bot',
      handle,
    });
    const open = (method: string, route: string, handle: RouteSpec['handle']): RouteSpec => ({
      method,
      route,
      auth: 'none',
      handle,
    });
    const original = '/webhooks/:app/:token/messages/@original';
    const followup = '/webhooks/:app/:token/messages/:message';
    return [
      open('GET', '/gateway', () => ok({ url: this.gatewayUrl })),
      bot('GET', '/gateway/bot', () => ok(this.gatewayBotInfo())),
      bot('GET', '/users/@me', () =>
        ok({ ...this.botUser, verified: true, mfa_enabled: false, locale: 'en-US' }),
      ),
      bot('POST', '/users/@me/channels', ({ body }) => ok(this.openDm(asObject(body)))),
      bot('GET', '/users/:user', ({ params }) => ok(this.knownUser(params.user))),
      bot('GET', '/applications/@me', () => ok(this.application())),
      bot('GET', '/oauth2/applications/@me', () => ok(this.application())),
      bot('GET', '/applications/:app/commands', ({ params }) => ok(this.listCommands(params.app))),
      bot('PUT', '/applications/:app/commands', ({ params, body }) => ok(this.putCommands(params.app, body))),
      bot('GET', '/applications/:app/guilds/:guild/commands', ({ params }) =>
        ok(this.listCommands(params.app, params.guild)),
      ),
      bot('PUT', '/applications/:app/guilds/:guild/commands', ({ params, body }) =>
        ok(this.putCommands(params.app, body, params.guild)),
      ),
      open('POST', '/interactions/:id/:token/callback', (request) => this.callback(request)),
      open('POST', '/webhooks/:app/:token', (request) => this.followUp(request)),
      open('GET', original, ({ params }) => ok(apiMessage(this.webhookMessage(params).message))),
      open('PATCH', original, (request) => this.editWebhookMessage(request)),
      open('DELETE', original, ({ params }) => this.deleteWebhookMessage(params)),
      open('GET', followup, ({ params }) => ok(apiMessage(this.webhookMessage(params).message))),
      open('PATCH', followup, (request) => this.editWebhookMessage(request)),
      open('DELETE', followup, ({ params }) => this.deleteWebhookMessage(params)),
      bot('GET', '/channels/:channel', ({ params }) => ok(this.getChannel(params.channel))),
      bot('POST', '/channels/:channel/messages', (request) => this.sendChannelMessage(request)),
      bot('GET', '/channels/:channel/messages/:message', ({ params }) =>
        ok(apiMessage(this.channelMessage(params.channel, params.message))),
      ),
      bot('PATCH', '/channels/:channel/messages/:message', (request) => this.editChannelMessage(request)),
      bot('DELETE', '/channels/:channel/messages/:message', ({ params }) =>
        this.deleteChannelMessage(params),
      ),
      bot('POST', '/channels/:channel/typing', ({ params }) => {
        this.checkChannel(params.channel);
        return { status: 204 };
      }),
      bot('POST', '/attachments/refresh-urls', ({ body }) => ok(this.refreshUrls(asObject(body)))),
    ];
  }

  // --- CDN ---

  private serveCdn(method: string, url: URL): Answer {
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, raw: 'Method Not Allowed' };
    const file = this.cdnFiles.get(url.pathname);
    if (!file || !this.validSignature(url)) {
      return {
        status: 404,
        raw: 'This content is no longer available.',
        headers: { 'content-type': 'text/plain' },
      };
    }
    if (method === 'GET') this.downloads.push(safeDecode(url.pathname));
    return { status: 200, raw: file.content, headers: { 'content-type': file.contentType } };
  }

  /** Discord's signed CDN URL: `ex` expiry and `is` issue time in hex seconds, `hm` a signature of both. */
  private signedUrl(path: string, ttlMs: number): string {
    const now = Date.now();
    const ex = Math.floor((now + ttlMs) / 1000).toString(16);
    const is = Math.floor(now / 1000).toString(16);
    return `${this.origin}${path}?ex=${ex}&is=${is}&hm=${this.sign(path, ex, is)}&`;
  }

  private sign(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.cdnSecret).update(`${path}\n${ex}\n${is}`).digest('hex');
  }

  private validSignature(url: URL): boolean {
    const ex = url.searchParams.get('ex') ?? '';
    const is = url.searchParams.get('is') ?? '';
    const hm = url.searchParams.get('hm') ?? '';
    if (!/^[0-9a-f]+$/.test(ex) || hm !== this.sign(url.pathname, ex, is)) return false;
    return Number.parseInt(ex, 16) * 1000 > Date.now();
  }

  private refreshUrls(body: Params): { refreshed_urls: { original: string; refreshed: string }[] } {
    const urls = body.attachment_urls;
    if (!Array.isArray(urls) || urls.some((url) => typeof url !== 'string')) {
      throw invalidForm(fieldError(['attachment_urls'], 'BASE_TYPE_REQUIRED', 'This field is required'));
    }
    if (urls.length > MAX_REFRESH_URLS) {
      throw invalidForm(
        fieldError(
          ['attachment_urls'],
          'BASE_TYPE_MAX_LENGTH',
          `Must be ${MAX_REFRESH_URLS} or fewer in length.`,
        ),
      );
    }
    return {
      refreshed_urls: (urls as string[]).map((original) => {
        let path: string | undefined;
        try {
          path = new URL(original).pathname;
        } catch {
          path = undefined;
        }
        const known = path !== undefined && this.cdnFiles.has(path);
        return { original, refreshed: known ? this.signedUrl(path as string, CDN_URL_TTL_MS) : original };
      }),
    };
  }

  // --- users, channels, application, commands ---

  private gatewayBotInfo(): RESTGetAPIGatewayBotResult {
    return {
      url: this.gatewayUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
    };
  }

  private application(): Params {
    return {
      id: this.applicationId,
      name: this.botUser.username,
      icon: null,
      description: '',
      summary: '',
      type: null,
      hook: true,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: createHash('sha256').update(this.applicationId).digest('hex'),
      flags: 0,
      bot: this.botUser,
      owner: { ...this.makeUser({ id: OWNER_ID, username: 'owner' }) },
      team: null,
      redirect_uris: [],
      interactions_endpoint_url: null,
      approximate_guild_count: 1,
      integration_types_config: { [ApplicationIntegrationType.GuildInstall]: {} },
    };
  }

  private knownUser(userId: string): APIUser {
    const user = this.users.get(userId);
    if (!user) throw unknownUser();
    return user;
  }

  /** POST /users/@me/channels: the user's DM channel, the same id every time. */
  private openDm(body: Params): APIChannel {
    const recipient = body.recipient_id;
    if (typeof recipient !== 'string' || !/^\d+$/.test(recipient)) {
      throw invalidForm(fieldError(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required'));
    }
    const user = this.users.get(recipient) ?? this.makeUser({ id: recipient });
    return this.dmChannel(user);
  }

  private dmChannel(user: APIUser): APIChannel {
    let channelId = this.dmChannels.get(user.id);
    if (channelId === undefined) {
      channelId = this.snowflake();
      this.dmChannels.set(user.id, channelId);
    }
    const channel = {
      id: channelId,
      type: ChannelType.DM,
      flags: 0,
      last_message_id: null,
      recipients: [user],
    } as unknown as APIChannel;
    this.channels.set(channelId, channel);
    return channel;
  }

  private getChannel(channelId: string): APIChannel {
    const code = this.refusedChannels.get(channelId);
    if (code === 50001 || code === 10003) throw refusal(code);
    const channel = this.channels.get(channelId);
    if (!channel) throw unknownChannel();
    return channel;
  }

  /**
   * The guild text channel an interaction happens in. A guild or channel the fake has not seen yet is
   * announced (GUILD_CREATE, CHANNEL_CREATE) before the interaction, as when the bot joins a guild, so
   * discord.js caches the guild and the channel as it would on Discord.
   */
  private joinGuild(guildId: string, channelId: string): APIChannel {
    const channels = this.guilds.get(guildId);
    const known = channels?.has(channelId) ? this.channels.get(channelId) : undefined;
    if (known) return known;
    const channel = this.guildChannel(channelId, guildId);
    if (channels) {
      channels.add(channelId);
      this.broadcast(GatewayDispatchEvents.ChannelCreate, channel, GatewayIntentBits.Guilds);
    } else {
      this.guilds.set(guildId, new Set([channelId]));
      this.broadcast(GatewayDispatchEvents.GuildCreate, this.guildCreate(guildId), GatewayIntentBits.Guilds);
    }
    return channel;
  }

  /** GUILD_CREATE as the gateway sends it: the guild, its channels and the bot's member. */
  private guildCreate(guildId: string): Params {
    const joinedAt = '2024-01-01T00:00:00.000000+00:00';
    const channels = [...(this.guilds.get(guildId) ?? [])].map((id) => this.channels.get(id));
    return {
      id: guildId,
      name: 'Stem Lab',
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: OWNER_ID,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      features: [],
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      vanity_url_code: null,
      max_members: 500_000,
      max_video_channel_users: 25,
      roles: [
        {
          id: guildId,
          name: '@everyone',
          permissions: DEFAULT_APP_PERMISSIONS,
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          icon: null,
          unicode_emoji: null,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      joined_at: joinedAt,
      large: false,
      unavailable: false,
      member_count: 2,
      members: [
        {
          user: this.botUser,
          roles: [],
          joined_at: joinedAt,
          premium_since: null,
          deaf: false,
          mute: false,
          flags: 0,
          pending: false,
          nick: null,
          avatar: null,
          banner: null,
          communication_disabled_until: null,
        },
      ],
      channels,
      threads: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private guildChannel(channelId: string, guildId: string): APIChannel {
    const channel = {
      id: channelId,
      type: ChannelType.GuildText,
      guild_id: guildId,
      name: channelId === DEFAULT_CHANNEL_ID ? 'general' : `stems-${channelId.slice(-4)}`,
      position: 0,
      flags: 0,
      permission_overwrites: [],
      nsfw: false,
      parent_id: null,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
    } as unknown as APIChannel;
    this.channels.set(channelId, channel);
    return channel;
  }

  private listCommands(appId: string, guildId?: string): APIApplicationCommand[] {
    if (appId !== this.applicationId) throw refusal(50001);
    return this.registeredCommands(guildId);
  }

  /** Bulk overwrite: commands keep their id when name and type stay, as on Discord. */
  private putCommands(appId: string, body: Json, guildId?: string): APIApplicationCommand[] {
    if (appId !== this.applicationId) throw refusal(50001);
    if (!Array.isArray(body)) throw invalidForm(fieldError([], 'BASE_TYPE_ARRAY', 'Must be an array.'));
    const previous = this.registeredCommands(guildId);
    const commands = (body as Params[]).map((command, index) => {
      const type = (command.type as ApplicationCommandType | undefined) ?? ApplicationCommandType.ChatInput;
      const name = typeof command.name === 'string' ? command.name : '';
      checkCommand(type, name, command.description, index);
      const kept = previous.find((old) => old.name === name && old.type === type);
      return compact({
        ...command,
        id: kept?.id ?? this.commandId(name, type),
        application_id: this.applicationId,
        version: this.snowflake(),
        type,
        name,
        description: typeof command.description === 'string' ? command.description : '',
        default_member_permissions: command.default_member_permissions ?? null,
        guild_id: guildId,
        contexts: command.contexts ?? null,
        integration_types: command.integration_types ?? [ApplicationIntegrationType.GuildInstall],
        nsfw: command.nsfw ?? false,
      }) as unknown as APIApplicationCommand;
    });
    this.commands.set(guildId ?? 'global', commands);
    return commands;
  }

  // --- interactions ---

  /** Builds the INTERACTION_CREATE payload Discord sends, remembers the interaction and dispatches it. */
  private dispatchInteraction(
    input: InteractionInput,
    kind: {
      type: InteractionType;
      data: Params;
      name?: string;
      commandType?: ApplicationCommandType;
      message?: APIMessage;
      targetMessageId?: string;
      componentMessageId?: string;
    },
  ): DispatchedInteraction {
    const user = this.makeUser(input.user);
    const { guildId, channelId } = this.placeOf(input, user.id);
    const permissions = input.appPermissions ?? DEFAULT_APP_PERMISSIONS;
    const channel = guildId === null ? this.dmChannel(user) : this.joinGuild(guildId, channelId);
    const id = this.snowflake(input.createdAt);
    const token = Buffer.from(`interaction:${id}:${randomBytes(48).toString('base64url')}`).toString(
      'base64url',
    );
    const attachmentSizeLimit = input.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT;
    // A guild-installed app: the owner is the guild, or "0" in the bot's DM.
    const owners = { [ApplicationIntegrationType.GuildInstall]: guildId ?? '0' };
    const where =
      guildId === null
        ? { user, context: InteractionContextType.BotDM }
        : {
            guild: { id: guildId, locale: 'en-US', features: [] },
            guild_id: guildId,
            guild_locale: 'en-US',
            member: {
              user,
              roles: [],
              premium_since: null,
              permissions,
              pending: false,
              nick: null,
              mute: false,
              deaf: false,
              joined_at: '2024-01-01T00:00:00.000000+00:00',
              flags: 0,
              avatar: null,
              banner: null,
              communication_disabled_until: null,
              unusual_dm_activity_until: null,
            },
            context: InteractionContextType.Guild,
          };
    const payload = compact({
      id,
      application_id: this.applicationId,
      type: kind.type,
      data: kind.data,
      ...where,
      channel: { ...channel, id: channelId, permissions },
      channel_id: channelId,
      message: kind.message,
      token,
      version: 1,
      app_permissions: permissions,
      locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: owners,
      attachment_size_limit: attachmentSizeLimit,
    }) as unknown as APIInteraction;
    const now = Date.now();
    const state: InteractionState = {
      id,
      token,
      type: kind.type,
      name: kind.name,
      commandType: kind.commandType,
      user,
      channelId,
      guildId,
      owners,
      dispatchedAt: now,
      expiresAt: now + (input.tokenTtlMs ?? TOKEN_TTL_MS),
      attachmentSizeLimit: input.enforcedUploadLimit ?? attachmentSizeLimit,
      targetMessageId: kind.targetMessageId,
      componentMessageId: kind.componentMessageId,
      expired: false,
      followups: new Set(),
    };
    this.interactions.set(id, state);
    this.interactionsByToken.set(token, state);
    this.broadcast(GatewayDispatchEvents.InteractionCreate, payload);
    return { id, token, payload };
  }

  private tokenDead(state: InteractionState): boolean {
    return state.expired || Date.now() > state.expiresAt;
  }

  /** POST /interactions/:id/:token/callback: the first and only acknowledgement, within the deadline. */
  private callback({ params, query, body, files }: ApiRequest): Answer {
    const state = this.interactions.get(params.id);
    if (!state || state.token !== params.token) throw unknownInteraction();
    if (state.responseType !== undefined) throw alreadyAcknowledged();
    if (this.tokenDead(state) || Date.now() - state.dispatchedAt > this.callbackDeadlineMs) {
      throw unknownInteraction();
    }
    const request = asObject(body);
    const type = request.type as InteractionResponseType;
    if (!(ALLOWED_RESPONSES[state.type] ?? []).includes(type)) {
      throw invalidForm(
        fieldError(
          ['type'],
          'BASE_TYPE_CHOICES',
          'Value must be one of the response types for this interaction.',
        ),
      );
    }
    checkUploads(files, state.attachmentSizeLimit);
    const data = asObject(request.data);
    let message: BotMessage | undefined;
    switch (type) {
      case InteractionResponseType.ChannelMessageWithSource:
      case InteractionResponseType.DeferredChannelMessageWithSource: {
        const deferred = type === InteractionResponseType.DeferredChannelMessageWithSource;
        message = this.createMessage({
          channelId: state.channelId,
          body: deferred ? {} : data,
          files: deferred ? [] : files,
          flags: (toFlags(data.flags) & INTERACTION_FLAGS) | (deferred ? MessageFlags.Loading : 0),
          type: responseMessageType(state),
          interaction: state,
          reference: state.targetMessageId ? this.findMessage(state.targetMessageId) : undefined,
          allowEmpty: deferred,
        });
        state.originalId = message.id;
        break;
      }
      case InteractionResponseType.DeferredMessageUpdate:
        state.originalId = state.componentMessageId;
        break;
      case InteractionResponseType.UpdateMessage:
        message = this.editMessage(this.promote(state.componentMessageId ?? ''), data, files);
        state.originalId = message.id;
        break;
      default:
        break;
    }
    state.responseType = type;
    if (query.with_response !== 'true') return { status: 204 };
    const flags = message?.flags ?? 0;
    const result: RESTPostAPIInteractionCallbackWithResponseResult = {
      interaction: compact({
        id: state.id,
        type: state.type,
        response_message_id: message?.id,
        response_message_loading: message ? (flags & MessageFlags.Loading) !== 0 : undefined,
        response_message_ephemeral: message ? (flags & MessageFlags.Ephemeral) !== 0 : undefined,
      }) as unknown as RESTPostAPIInteractionCallbackWithResponseResult['interaction'],
      resource: compact({ type, message: message && apiMessage(message) }) as unknown as NonNullable<
        RESTPostAPIInteractionCallbackWithResponseResult['resource']
      >,
    };
    return ok(result);
  }

  /** The interaction behind a webhook route's token, while the token lives and after it was acknowledged. */
  private webhookState(params: Record<string, string>): InteractionState {
    const state = this.interactionsByToken.get(params.token);
    if (!state || params.app !== this.applicationId || this.tokenDead(state)) throw invalidWebhookToken();
    if (state.responseType === undefined) throw unknownWebhook();
    return state;
  }

  private webhookMessage(params: Record<string, string>): { state: InteractionState; message: BotMessage } {
    const state = this.webhookState(params);
    const wanted = params.message ?? '@original';
    const id = wanted === '@original' ? state.originalId : wanted;
    const ours = id !== undefined && (id === state.originalId || state.followups.has(id));
    const message = ours ? (this.messages.get(id) ?? this.otherMessages.get(id)) : undefined;
    if (!message || (message as BotMessage).deleted) throw unknownMessage();
    return { state, message };
  }

  /** POST /webhooks/:app/:token: a follow-up, except that the first one after a deferral fills it in. */
  private followUp({ params, query, body, files }: ApiRequest): Answer {
    const state = this.webhookState(params);
    checkUploads(files, state.attachmentSizeLimit);
    const data = asObject(body);
    const original = state.originalId === undefined ? undefined : this.messages.get(state.originalId);
    let message: BotMessage;
    if (original && !original.deleted && (original.flags ?? 0) & MessageFlags.Loading) {
      // Discord's rule: the first follow-up after a deferral fills in the "thinking…" message (flags kept).
      message = this.editMessage(original, data, files);
    } else {
      message = this.createMessage({
        channelId: state.channelId,
        body: data,
        files,
        flags: toFlags(data.flags) & INTERACTION_FLAGS,
        type: MessageType.Default,
        interaction: state,
        followupOf: state.originalId,
      });
      state.followups.add(message.id);
    }
    return query.wait === 'true' ? ok(apiMessage(message)) : { status: 204 };
  }

  private editWebhookMessage({ params, body, files }: ApiRequest): Answer {
    const { state, message } = this.webhookMessage(params);
    checkUploads(files, state.attachmentSizeLimit);
    return ok(apiMessage(this.editMessage(this.promote(message.id), asObject(body), files)));
  }

  private deleteWebhookMessage(params: Record<string, string>): Answer {
    const { message } = this.webhookMessage(params);
    this.promote(message.id).deleted = true;
    return { status: 204 };
  }

  // --- channel messages ---

  /** Throws the refusal set for a channel, or 50007 for the DM channel of a user who refuses DMs. */
  private checkChannel(channelId: string): void {
    const code = this.refusedChannels.get(channelId);
    if (code !== undefined) throw refusal(code);
    for (const [userId, dmId] of this.dmChannels) {
      if (dmId === channelId && this.refusedDms.has(userId)) throw refusal(50007);
    }
  }

  private sendChannelMessage({ params, body, files }: ApiRequest): Answer {
    const channelId = params.channel;
    this.checkChannel(channelId);
    checkUploads(files, this.uploadLimits.get(channelId) ?? DEFAULT_UPLOAD_LIMIT);
    const data = asObject(body);
    const reference = this.replyTarget(channelId, data.message_reference);
    const message = this.createMessage({
      channelId,
      body: data,
      files,
      flags: toFlags(data.flags) & CHANNEL_FLAGS,
      type: reference ? MessageType.Reply : MessageType.Default,
      reference,
    });
    return ok(apiMessage(message));
  }

  /** The message a reply points at; an unknown one is refused unless fail_if_not_exists is false. */
  private replyTarget(channelId: string, value: unknown): APIMessage | undefined {
    const reference = asObject(value);
    if (reference.message_id === undefined || reference.type === MessageReferenceType.Forward)
      return undefined;
    const target = this.findMessage(String(reference.message_id));
    const inChannel = target && target.channel_id === String(reference.channel_id ?? channelId);
    if (target && inChannel && !(target as BotMessage).deleted) return target;
    if (reference.fail_if_not_exists === false) return undefined;
    throw invalidForm(
      fieldError(['message_reference'], 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message'),
    );
  }

  /** A channel message the bot may see: not deleted, not ephemeral, in that channel. */
  private channelMessage(channelId: string, messageId: string): APIMessage {
    const message = this.findMessage(messageId);
    const hidden = ((message?.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
    if (!message || message.channel_id !== channelId || (message as BotMessage).deleted || hidden) {
      throw unknownMessage();
    }
    return message;
  }

  private editChannelMessage({ params, body, files }: ApiRequest): Answer {
    this.checkChannel(params.channel);
    const message = this.channelMessage(params.channel, params.message);
    if (message.author.id !== this.botUser.id) {
      throw new DiscordError(403, 50005, 'Cannot edit a message authored by another user');
    }
    checkUploads(files, this.uploadLimits.get(params.channel) ?? DEFAULT_UPLOAD_LIMIT);
    return ok(apiMessage(this.editMessage(this.promote(message.id), asObject(body), files)));
  }

  private deleteChannelMessage(params: Record<string, string>): Answer {
    const message = this.channelMessage(params.channel, params.message);
    if (message.author.id !== this.botUser.id) throw refusal(50013);
    this.promote(message.id).deleted = true;
    return { status: 204 };
  }

  // --- messages ---

  private findMessage(id: string): APIMessage | undefined {
    return this.messages.get(id) ?? this.otherMessages.get(id);
  }

  /** The bot's record of a message, moving a made-up component message into `messages` when edited. */
  private promote(id: string): BotMessage {
    const ours = this.messages.get(id);
    if (ours) return ours;
    const other = this.otherMessages.get(id);
    if (!other) throw unknownMessage();
    this.otherMessages.delete(id);
    const record: BotMessage = { ...other };
    this.messages.set(id, record);
    return record;
  }

  private messageSkeleton(id: string, channelId: string, author: APIUser): APIMessage {
    return {
      id,
      type: MessageType.Default,
      content: '',
      channel_id: channelId,
      author,
      attachments: [],
      embeds: [],
      mentions: [],
      mention_roles: [],
      pinned: false,
      mention_everyone: false,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: NO_MESSAGE_FLAGS,
      components: [],
    };
  }

  private createMessage(draft: MessageDraft): BotMessage {
    const { body, interaction: state } = draft;
    checkMessageFields(body);
    const ephemeral = (draft.flags & MessageFlags.Ephemeral) !== 0;
    const attachments = this.attachmentsFor(draft.channelId, body, draft.files, [], 'create', ephemeral);
    const message: BotMessage = {
      ...this.messageSkeleton(this.snowflake(), draft.channelId, this.botUser),
      type: draft.type,
      content: typeof body.content === 'string' ? body.content : '',
      attachments,
      embeds: resolveEmbeds(body.embeds, attachments),
      components: Array.isArray(body.components) ? (body.components as APIMessage['components']) : [],
      tts: body.tts === true,
      flags: draft.flags,
    };
    if (!draft.allowEmpty && isEmpty(message, body)) throw emptyMessage();
    if (draft.reference) {
      const guildId = (this.channels.get(draft.channelId) as { guild_id?: string } | undefined)?.guild_id;
      message.message_reference = compact({
        type: MessageReferenceType.Default,
        channel_id: draft.reference.channel_id,
        message_id: draft.reference.id,
        guild_id: guildId,
      }) as APIMessage['message_reference'];
      message.referenced_message = structuredClone(apiMessage(draft.reference));
    }
    if (state) {
      Object.assign(message, {
        webhook_id: this.applicationId,
        application_id: this.applicationId,
        interaction_metadata: compact({
          id: state.id,
          type: state.type,
          user: state.user,
          authorizing_integration_owners: state.owners,
          name: state.name,
          command_type: state.commandType,
          target_message_id: state.targetMessageId,
          interacted_message_id: state.componentMessageId,
          original_response_message_id: draft.followupOf,
        }),
        ...(state.name === undefined
          ? {}
          : { interaction: { id: state.id, type: state.type, name: state.name, user: state.user } }),
        interaction_token: state.token,
      });
    }
    this.messages.set(message.id, message);
    return message;
  }

  /** Applies an edit as Discord does: given fields replace, `attachments` lists what stays. */
  private editMessage(message: BotMessage, body: Params, files: UploadedFile[]): BotMessage {
    checkMessageFields(body);
    const flags = message.flags ?? 0;
    const ephemeral = (flags & MessageFlags.Ephemeral) !== 0;
    const attachments =
      'attachments' in body || files.length > 0
        ? this.attachmentsFor(message.channel_id, body, files, message.attachments, 'edit', ephemeral)
        : message.attachments;
    const next: BotMessage = { ...message, attachments };
    if ('content' in body) next.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) next.embeds = resolveEmbeds(body.embeds, attachments);
    else if (attachments !== message.attachments) next.embeds = resolveEmbeds(message.embeds, attachments);
    if ('components' in body) {
      next.components = Array.isArray(body.components) ? (body.components as APIMessage['components']) : [];
    }
    const suppress = 'flags' in body ? toFlags(body.flags) : flags;
    next.flags =
      (flags & ~(MessageFlags.Loading | MessageFlags.SuppressEmbeds)) |
      (suppress & MessageFlags.SuppressEmbeds);
    // Filling in a deferred "thinking…" message is not an edit; later changes are.
    if ((flags & MessageFlags.Loading) === 0) next.edited_timestamp = new Date().toISOString();
    if (isEmpty(next, body)) throw emptyMessage();
    Object.assign(message, next);
    this.messages.set(message.id, message);
    return message;
  }

  /**
   * Discord's attachment semantics: file part `files[n]` is described by `attachments[]` entry `{ id: n }`;
   * on an edit, `attachments` lists everything that stays (old ones by snowflake, new ones by n), and
   * without it the old attachments stay and new files are added.
   */
  private attachmentsFor(
    channelId: string,
    body: Params,
    files: UploadedFile[],
    previous: APIAttachment[],
    mode: 'create' | 'edit',
    ephemeral: boolean,
  ): APIAttachment[] {
    const entries = Array.isArray(body.attachments) ? (body.attachments as Params[]) : undefined;
    const byIndex = new Map(
      files.map((file, index) => [/^files\[(\d+)\]$/.exec(file.field)?.[1] ?? String(index), file]),
    );
    let result: APIAttachment[];
    if (entries === undefined) {
      const uploaded = files.map((file) => this.storeUpload(channelId, file, {}, ephemeral));
      result = mode === 'edit' ? [...previous, ...uploaded] : uploaded;
    } else {
      const used = new Set<UploadedFile>();
      result = entries.map((entry, index) => {
        const id = String(entry?.id ?? '');
        const kept = previous.find((attachment) => attachment.id === id);
        if (kept) return kept;
        const file = byIndex.get(id);
        if (!file) {
          throw invalidForm(
            fieldError(['attachments', index, 'id'], 'ATTACHMENT_NOT_FOUND', `Unknown attachment ${id}`),
          );
        }
        used.add(file);
        return this.storeUpload(channelId, file, entry, ephemeral);
      });
      if (mode === 'create') {
        for (const file of files)
          if (!used.has(file)) result.push(this.storeUpload(channelId, file, {}, ephemeral));
      }
    }
    if (result.length > MAX_ATTACHMENTS) {
      throw invalidForm(
        fieldError(['attachments'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_ATTACHMENTS} or fewer in length.`),
      );
    }
    return result;
  }

  /** Puts an uploaded file on the CDN and returns its attachment object. */
  private storeUpload(
    channelId: string,
    file: UploadedFile,
    entry: Params,
    ephemeral: boolean,
  ): APIAttachment {
    const id = this.snowflake();
    const filename = sanitizeFilename(typeof entry.filename === 'string' ? entry.filename : file.name);
    const contentType = contentTypeOf(filename, file.contentType);
    const path = cdnPath(channelId, id, filename);
    this.cdnFiles.set(path, { content: file.content, contentType });
    const url = this.signedUrl(path, CDN_URL_TTL_MS);
    return compact({
      id,
      filename,
      title: typeof entry.title === 'string' ? entry.title : undefined,
      description: typeof entry.description === 'string' ? entry.description : undefined,
      content_type: contentType,
      size: file.content.length,
      url,
      proxy_url: url,
      ephemeral: ephemeral || undefined,
      duration_secs: typeof entry.duration_secs === 'number' ? entry.duration_secs : undefined,
      waveform: typeof entry.waveform === 'string' ? entry.waveform : undefined,
    }) as APIAttachment;
  }

  // --- gateway ---

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.replace(/\/+$/, '') !== '/gateway') return refuseUpgrade(socket, 404, 'Not Found');
    // discord.js 14 asks for zlib-stream only when the optional zlib-sync package is installed.
    if ((url.searchParams.get('encoding') ?? 'json') !== 'json' || url.searchParams.has('compress')) {
      return refuseUpgrade(socket, 400, 'the fake gateway speaks uncompressed JSON only');
    }
    this.gateway.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url.searchParams.get('v')));
  }

  private onConnection(socket: WebSocket, version: string | null): void {
    const connection: GatewayConnection = { socket, identified: false, intents: 0, compress: false, seq: 0 };
    this.connections.add(connection);
    socket.on('close', () => this.connections.delete(connection));
    socket.on('error', () => this.connections.delete(connection));
    if (version !== null && version !== '10') {
      socket.close(4012, 'Invalid API version.');
      return;
    }
    socket.on('message', (data: RawData) => this.onGatewayMessage(connection, data));
    this.sendGateway(connection, {
      op: GatewayOpcodes.Hello,
      d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS, _trace: ['["fake-gateway",{"micros":0}]'] },
      s: null,
      t: null,
    });
  }

  private onGatewayMessage(connection: GatewayConnection, data: RawData): void {
    let payload: Params;
    try {
      payload = asObject(JSON.parse(rawText(data)));
    } catch {
      connection.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const d = asObject(payload.d);
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        this.sendGateway(connection, { op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null });
        return;
      case GatewayOpcodes.Identify:
        return this.identify(connection, d);
      case GatewayOpcodes.Resume:
        return this.resume(connection, d);
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
        if (!connection.identified) connection.socket.close(4003, 'Not authenticated.');
        return;
      default:
        connection.socket.close(4001, 'Unknown opcode.');
    }
  }

  private identify(connection: GatewayConnection, d: Params): void {
    if (!this.tokenMatches(d.token)) return connection.socket.close(4004, 'Authentication failed.');
    if (connection.identified) return connection.socket.close(4005, 'Already authenticated.');
    if (typeof d.intents !== 'number') return connection.socket.close(4013, 'Invalid intent(s).');
    this.identifies.push(d);
    connection.identified = true;
    connection.intents = d.intents;
    connection.compress = d.compress === true;
    // Without the Guilds intent READY lists no guilds, so discord.js does not wait for GUILD_CREATEs.
    const withGuilds = (d.intents & GatewayIntentBits.Guilds) !== 0;
    const sessionId = randomBytes(16).toString('hex');
    connection.sessionId = sessionId;
    this.sessions.set(sessionId, { seq: 0 });
    const ready: GatewayReadyDispatchData = {
      v: 10,
      user: { ...this.botUser, verified: true, mfa_enabled: false },
      guilds: withGuilds ? [...this.guilds.keys()].map((id) => ({ id, unavailable: true })) : [],
      session_id: sessionId,
      resume_gateway_url: this.gatewayUrl,
      shard: Array.isArray(d.shard) ? (d.shard as [number, number]) : [0, 1],
      application: {
        id: this.applicationId,
        flags: 0 as ApplicationFlags,
      } as GatewayReadyDispatchData['application'],
    };
    this.dispatch(connection, GatewayDispatchEvents.Ready, ready);
    if (!withGuilds) return;
    for (const guildId of this.guilds.keys()) {
      this.dispatch(connection, GatewayDispatchEvents.GuildCreate, this.guildCreate(guildId));
    }
  }

  private resume(connection: GatewayConnection, d: Params): void {
    if (!this.tokenMatches(d.token)) return connection.socket.close(4004, 'Authentication failed.');
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (!session) {
      this.sendGateway(connection, { op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      return;
    }
    connection.identified = true;
    connection.sessionId = d.session_id as string;
    connection.seq = session.seq;
    this.dispatch(connection, GatewayDispatchEvents.Resumed, {});
  }

  private tokenMatches(value: unknown): boolean {
    return typeof value === 'string' && value.replace(/^Bot\s+/i, '') === this.token;
  }

  /** Dispatches to every identified connection (with `intent`, when given). */
  private broadcast(event: GatewayDispatchEvents, d: unknown, intent?: number): void {
    for (const connection of this.connections) {
      if (!connection.identified || (intent !== undefined && (connection.intents & intent) === 0)) continue;
      this.dispatch(connection, event, d);
    }
  }

  private dispatch(connection: GatewayConnection, event: GatewayDispatchEvents, d: unknown): void {
    connection.seq += 1;
    const session = connection.sessionId === undefined ? undefined : this.sessions.get(connection.sessionId);
    if (session) session.seq = connection.seq;
    this.sendGateway(connection, { op: GatewayOpcodes.Dispatch, t: event, s: connection.seq, d });
  }

  private sendGateway(connection: GatewayConnection, payload: unknown): void {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    const text = JSON.stringify(payload);
    connection.socket.send(connection.compress ? deflateSync(text) : text);
  }

  // --- small helpers that need the fake's state ---

  /** Snowflakes carry the current time (or `at`), like Discord's, so ids sort by creation. */
  private snowflake(at: number = Date.now()): string {
    const ms = BigInt(at) - DISCORD_EPOCH;
    this.increment = (this.increment + 1) & 0xfff;
    return ((ms << 22n) | (1n << 17n) | BigInt(this.increment)).toString();
  }

  /** A user from a partial (defaults for the rest), remembered for GET /users/:id and DMs. */
  private makeUser(partial: Partial<APIUser> = {}): APIUser {
    const id = partial.id ?? DEFAULT_USER_ID;
    const known = this.users.get(id);
    const base: APIUser = known ?? {
      id,
      username: id === DEFAULT_USER_ID ? 'ada' : `user${id.slice(-4)}`,
      global_name: id === DEFAULT_USER_ID ? 'Ada' : null,
      discriminator: '0',
      avatar: null,
      public_flags: NO_USER_FLAGS,
      flags: NO_USER_FLAGS,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
    };
    const user = { ...base, ...partial, id };
    this.users.set(id, user);
    return user;
  }

  /**
   * Where an interaction happens. A guildId given wins (null = the user's DM channel unless channelId says
   * otherwise); without one, a known channel brings its own guild (or none, for a DM channel).
   */
  private placeOf(input: InteractionInput, userId: string): { guildId: string | null; channelId: string } {
    const known = input.channelId === undefined ? undefined : this.channels.get(input.channelId);
    let guildId: string | null;
    if (input.guildId !== undefined) guildId = input.guildId;
    else if (known?.type === ChannelType.DM) guildId = null;
    else guildId = (known as { guild_id?: string } | undefined)?.guild_id ?? DEFAULT_GUILD_ID;
    const fallback = guildId === null ? this.dmChannel(this.makeUser({ id: userId })).id : DEFAULT_CHANNEL_ID;
    return { guildId, channelId: input.channelId ?? fallback };
  }

  /** Commands keep one id per name and type, registered or not, as the dispatched payloads need one. */
  private commandId(name: string, type: ApplicationCommandType): string {
    const key = `${type}:${name}`;
    const registered = [...this.commands.values()].flat().find((c) => c.name === name && c.type === type);
    if (registered) return registered.id;
    let id = this.commandIds.get(key);
    if (id === undefined) {
      id = this.snowflake();
      this.commandIds.set(key, id);
    }
    return id;
  }
}

// --- request parsing ---

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A JSON body, or a multipart body's `payload_json` and file parts. */
function parseBody(contentType: string, raw: Buffer): { body: Json; files: UploadedFile[] } {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'multipart/form-data') {
    const boundary = multipartBoundary(contentType);
    if (!boundary) throw new DiscordError(400, 0, '400: Bad Request');
    const { fields, files } = parseMultipart(raw, boundary);
    const payload = fields.find(([name]) => name === 'payload_json')?.[1];
    const body: Json =
      payload !== undefined ? parseJson(payload) : fields.length > 0 ? Object.fromEntries(fields) : null;
    return {
      body,
      files: files.map((file) => ({
        field: file.field,
        name: file.name,
        contentType: file.type,
        content: file.content,
      })),
    };
  }
  const text = raw.toString('utf8');
  return { body: text.trim() === '' ? null : parseJson(text), files: [] };
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw invalidJson();
  }
}

/** Percent-decodes a path (@discordjs/rest sends '@me' as '%40me'), leaving malformed escapes as they are. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** Route patterns name parameters with ':'; every other segment must match exactly. */
function matchPattern(route: string, segments: string[]): Record<string, string> | undefined {
  const parts = route.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const segment = safeDecode(segments[i]);
    if (parts[i].startsWith(':')) {
      if (segment === '') return undefined;
      params[parts[i].slice(1)] = segment;
    } else if (parts[i] !== segment) {
      return undefined;
    }
  }
  return params;
}

// --- validation ---

function checkUploads(files: UploadedFile[], limit: number): void {
  if (files.some((file) => file.content.length > limit)) throw tooLarge();
}

function checkMessageFields(body: Params): void {
  if (typeof body.content === 'string' && body.content.length > MAX_CONTENT_LENGTH) {
    throw invalidForm(
      fieldError(['content'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT_LENGTH} or fewer in length.`),
    );
  }
  if (!Array.isArray(body.embeds)) return;
  if (body.embeds.length > MAX_EMBEDS) {
    throw invalidForm(
      fieldError(['embeds'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_EMBEDS} or fewer in length.`),
    );
  }
  (body.embeds as Params[]).forEach((embed, index) => {
    if (typeof embed?.description === 'string' && embed.description.length > MAX_EMBED_DESCRIPTION) {
      throw invalidForm(
        fieldError(
          ['embeds', index, 'description'],
          'BASE_TYPE_MAX_LENGTH',
          `Must be ${MAX_EMBED_DESCRIPTION} or fewer in length.`,
        ),
      );
    }
  });
}

function checkCommand(type: ApplicationCommandType, name: string, description: unknown, index: number): void {
  const valid =
    type === ApplicationCommandType.ChatInput
      ? /^[-_'\p{L}\p{N}]{1,32}$/u.test(name) && name === name.toLowerCase()
      : name.length >= 1 && name.length <= 32;
  if (!valid) {
    throw invalidForm(
      fieldError([index, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid'),
    );
  }
  const length = typeof description === 'string' ? description.length : 0;
  if (type === ApplicationCommandType.ChatInput && (length < 1 || length > 100)) {
    throw invalidForm(
      fieldError([index, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.'),
    );
  }
}

function isEmpty(message: APIMessage, body: Params): boolean {
  const stickers = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
  return (
    message.content === '' &&
    message.embeds.length === 0 &&
    message.attachments.length === 0 &&
    (message.components ?? []).length === 0 &&
    body.poll === undefined &&
    !stickers
  );
}

// --- answers ---

function ok(body: unknown): Answer {
  return { status: 200, body };
}

function errorBody(error: DiscordError): Params {
  return compact({ message: error.message, code: error.code, errors: error.errors });
}

function send(res: ServerResponse, method: string, answer: Answer): void {
  if (res.writableEnded || res.destroyed) return;
  if (answer.status === 204) {
    res.writeHead(204, answer.headers);
    res.end();
    return;
  }
  const payload = answer.raw ?? JSON.stringify(answer.body ?? null);
  const headers = {
    'content-type': answer.raw === undefined ? 'application/json' : 'application/octet-stream',
    ...answer.headers,
    'content-length': String(Buffer.byteLength(payload)),
  };
  res.writeHead(answer.status, headers);
  res.end(method === 'HEAD' ? undefined : payload);
}

function answerUnexpected(res: ServerResponse, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, 'POST', { status: 500, body: { message: '500: Internal Server Error', code: 0, detail } });
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

// --- small helpers ---

/** A realistic bot token: base64 of the application id, a timestamp part and an HMAC part. */
function defaultToken(applicationId: string): string {
  const hmac = createHash('sha256').update(`fake-discord:${applicationId}`).digest('base64url').slice(0, 38);
  return `${Buffer.from(applicationId).toString('base64url')}.GfAk3d.${hmac}`;
}

function cdnPath(channelId: string, attachmentId: string, filename: string): string {
  return `/attachments/${channelId}/${attachmentId}/${encodeURIComponent(filename)}`;
}

/**
 * Discord's upload name cleanup, approximated: whitespace becomes '_' and characters other than letters,
 * digits, '_', '-' and '.' are dropped ('My Song (Vocals).mp3' → 'My_Song_Vocals.mp3').
 */
function sanitizeFilename(name: string): string {
  const cleaned = name.replace(/\s+/g, '_').replace(/[^\p{L}\p{N}_.-]/gu, '');
  return cleaned === '' || /^\.+$/.test(cleaned) ? 'unknown' : cleaned;
}

function contentTypeOf(filename: string, fallback: string): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(filename)?.[1].toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? fallback;
}

/** Embeds with `attachment://name` image, thumbnail and icon URLs pointed at the uploaded attachment. */
function resolveEmbeds(value: unknown, attachments: APIAttachment[]): APIEmbed[] {
  if (!Array.isArray(value)) return [];
  const resolve = <T extends { url?: string; icon_url?: string }>(
    media: T | undefined,
    key: 'url' | 'icon_url',
  ) => {
    const reference = media?.[key];
    if (!media || typeof reference !== 'string' || !reference.startsWith('attachment://')) return media;
    const wanted = sanitizeFilename(reference.slice('attachment://'.length));
    const attachment = attachments.find((a) => a.filename === wanted);
    if (!attachment) return media;
    const proxyKey = key === 'url' ? 'proxy_url' : 'proxy_icon_url';
    return {
      ...media,
      [key]: attachment.url,
      [proxyKey]: attachment.proxy_url,
      content_type: attachment.content_type,
    };
  };
  return (value as APIEmbed[]).map(
    (embed) =>
      compact({
        ...embed,
        type: embed.type ?? 'rich',
        image: resolve(embed.image, 'url'),
        thumbnail: resolve(embed.thumbnail, 'url'),
        author: resolve(embed.author, 'icon_url'),
        footer: resolve(embed.footer, 'icon_url'),
      }) as APIEmbed,
  );
}

function responseMessageType(state: InteractionState): MessageType {
  if (state.commandType === ApplicationCommandType.ChatInput) return MessageType.ChatInputCommand;
  if (state.commandType !== undefined) return MessageType.ContextMenuCommand;
  return MessageType.Default;
}

/** A stored message without the fake's bookkeeping, as the API returns it. */
function apiMessage(message: APIMessage | BotMessage): APIMessage {
  const { interaction_token: _token, deleted: _deleted, ...rest } = message as BotMessage;
  return rest;
}

function toFlags(value: unknown): number {
  const flags = typeof value === 'string' ? Number(value) : value;
  return typeof flags === 'number' && Number.isInteger(flags) ? flags : 0;
}

function asObject(value: unknown): Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Params) : {};
}

/** Drops undefined fields so answers compare equal to what a client parses from JSON. */
function compact<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
