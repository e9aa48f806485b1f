/**
 * A local fake of the Telegram Bot API HTTP server for end-to-end tests. The real grammY client talks to it
 * through `client.apiRoot`, so the bot under test runs unmodified while tests push updates, inspect every
 * call and inject Telegram errors. Only Node built-ins are used.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Chat, Message, Update, User, UserFromGetMe } from 'grammy/types';
import { multipartBoundary, parseMultipart } from './multipart.js';

/** One file part of a multipart request, as the fake received it. */
export interface RecordedFile {
  readonly field: string;
  readonly name: string;
  readonly type: string;
  readonly content: Buffer;
}

/** One Bot API method call (every method except getUpdates), with what the fake answered. */
export interface RecordedCall {
  readonly method: string;
  /** JSON body, or multipart/query text fields with JSON objects and arrays parsed. */
  readonly params: Record<string, unknown>;
  readonly files: readonly RecordedFile[];
  /** Date.now() when the request arrived. */
  readonly at: number;
  /** The `result` the fake answered, or undefined when it answered an error. */
  readonly result: unknown;
}

/** A Telegram error answer, as `failNext` injects it. */
export interface TelegramErrorSpec {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
}

/** The handle a test gets: where to point grammY, what the bot did, and knobs to steer the fake. */
export interface FakeTelegramApi {
  /** 'http://127.0.0.1:<port>': give it to grammY as `client.apiRoot`. */
  readonly apiRoot: string;
  readonly token: string;
  readonly botUser: User;
  /** Every method call except getUpdates, in the order the requests were fully received. */
  readonly calls: RecordedCall[];
  /** How many getUpdates requests arrived. */
  readonly pollCount: number;
  /**
   * Queues an update for getUpdates, assigning update_id (1, 2, …), and returns it. As on Telegram, an
   * update whose type the bot's last `allowed_updates` excludes is dropped (it still gets an id).
   */
  pushUpdate(update: Omit<Update, 'update_id'>): Update;
  /**
   * Makes a user's message (message_id from the counter shared with bot messages, date = now). Typed by its
   * chat, so a private or group message fits `Update['message']`.
   */
  userMessage<C extends Message['chat']>(
    fields: { chat: C; from: User } & Partial<Message>,
  ): Message & { chat: C; from: User };
  /** Registers a file for getFile and GET /file/bot<token>/<file_path>; reportedSize is getFile's file_size. */
  addFile(file: {
    fileId: string;
    fileUniqueId: string;
    content: Buffer;
    filePath?: string;
    reportedSize?: number;
  }): void;
  /** Resolves with the first call (past or future) of `method` matching `predicate`; rejects after timeoutMs. */
  waitForCall(
    method: string,
    predicate?: (call: RecordedCall) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedCall>;
  callsTo(method: string): RecordedCall[];
  /** The next `times` calls to `method` answer this Telegram error (HTTP status = error_code). */
  failNext(method: string, error: TelegramErrorSpec, times?: number): void;
  /** Every file download path requested (without the token), served or not. */
  readonly downloads: string[];
  /** Answers held long polls with [] and closes the server, keep-alive sockets included. */
  close(): Promise<void>;
}

const DEFAULT_TOKEN = '123456:TEST-fake-token-abcdefghijklmnop';
/** The cloud Bot API refuses getFile above 20 MiB (`MAX_DOWNLOAD_FILE_SIZE = 20 << 20` in telegram-bot-api). */
const MAX_DOWNLOAD_SIZE = 20 << 20;
/** The cloud Bot API refuses multipart uploads above 50 MiB with 413. */
const MAX_UPLOAD_SIZE = 50 << 20;
const MAX_TEXT_LENGTH = 4096;
const MAX_CAPTION_LENGTH = 1024;
const MAX_ALBUM_SIZE = 10;
/** Update types Telegram leaves out when allowed_updates is [] (its default). */
const OPT_IN_UPDATE_TYPES = ['chat_member', 'message_reaction', 'message_reaction_count'];
const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';
const CONFLICT =
  'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';

type Params = Record<string, unknown>;
type BotUser = User &
  Pick<
    UserFromGetMe,
    'is_bot' | 'username' | 'can_join_groups' | 'can_read_all_group_messages' | 'supports_inline_queries'
  >;

/** The rest of what getMe answers for an ordinary bot. */
const GET_ME_FLAGS = {
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};
type MediaKind = 'audio' | 'document' | 'photo' | 'voice' | 'video';

/** Where uploads of each kind live and the extension they get when the upload has none. */
const MEDIA_KINDS: Record<MediaKind, { dir: string; ext: string }> = {
  audio: { dir: 'music', ext: 'mp3' },
  document: { dir: 'documents', ext: 'bin' },
  photo: { dir: 'photos', ext: 'jpg' },
  voice: { dir: 'voice', ext: 'oga' },
  video: { dir: 'videos', ext: 'mp4' },
};

const MIME_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/x-wav',
  flac: 'audio/flac',
  mp4: 'video/mp4',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  zip: 'application/zip',
  txt: 'text/plain',
  json: 'application/json',
};

/** A Telegram error answer raised by a method handler. */
class ApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number },
  ) {
    super(description);
  }
}

const badRequest = (what: string): ApiError => new ApiError(400, `Bad Request: ${what}`);

interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  content: Buffer;
  filePath: string;
  reportedSize: number;
}

interface StoredMessage {
  message: Params;
  fromBot: boolean;
  deleted: boolean;
}

interface MediaSource {
  fileId: string;
  fileUniqueId: string;
  size?: number;
  name?: string;
  mime?: string;
}

interface HeldPoll {
  res: ServerResponse;
  limit: number;
  timer: NodeJS.Timeout;
}

interface Waiter {
  method: string;
  predicate: (call: RecordedCall) => boolean;
  resolve: (call: RecordedCall) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface ApiRequest {
  params: Params;
  files: RecordedFile[];
}

type Handler = (request: ApiRequest) => unknown;

/** Starts the fake on an ephemeral 127.0.0.1 port. */
export async function startFakeTelegramApi(options: { token?: string } = {}): Promise<FakeTelegramApi> {
  const fake = new FakeTelegramServer(options.token ?? DEFAULT_TOKEN);
  await fake.listen();
  return fake;
}

class FakeTelegramServer implements FakeTelegramApi {
  readonly calls: RecordedCall[] = [];
  readonly downloads: string[] = [];
  readonly botUser: BotUser;
  /** The bot as messages show it: getMe-only flags are not part of Message.from. */
  private readonly sender: User;
  private apiRootValue = '';
  private polls = 0;
  private nextUpdateId = 1;
  private nextMessageId = 1;
  private nextFileNumber = 1;
  private nextMediaGroup = 1;
  private pending: Update[] = [];
  private allowedUpdates: string[] | undefined;
  private held: HeldPoll | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly failures = new Map<string, TelegramErrorSpec[]>();
  private readonly chatTypes = new Map<number, Chat['type']>();
  private readonly messages = new Map<string, StoredMessage>();
  private readonly files = new Map<string, StoredFile>();
  private readonly server: Server;
  private readonly handlers: Record<string, Handler>;

  constructor(readonly token: string) {
    const botUser: BotUser = {
      id: Number(token.split(':')[0]) || 123456,
      is_bot: true,
      first_name: 'Stembot',
      username: 'stembot_test_bot',
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    };
    this.botUser = botUser;
    this.sender = {
      id: botUser.id,
      is_bot: true,
      first_name: botUser.first_name,
      username: botUser.username,
    };
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => this.answerUnexpected(res, error));
    });
    this.handlers = this.makeHandlers();
  }

  get apiRoot(): string {
    return this.apiRootValue;
  }

  get pollCount(): number {
    return this.polls;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.apiRootValue = `http://127.0.0.1:${port}`;
  }

  pushUpdate(update: Omit<Update, 'update_id'>): Update {
    const full = { update_id: this.nextUpdateId++, ...update } as Update;
    this.observe(full, 0);
    if (this.isAllowed(full)) this.pending.push(full);
    this.flushHeldPoll();
    return full;
  }

  userMessage<C extends Message['chat']>(
    fields: { chat: C; from: User } & Partial<Message>,
  ): Message & { chat: C; from: User } {
    const message = { message_id: this.nextMessageId++, date: nowSeconds(), ...fields } as Message & {
      chat: C;
      from: User;
    };
    this.observe(message, 0);
    return message;
  }

  addFile(file: {
    fileId: string;
    fileUniqueId: string;
    content: Buffer;
    filePath?: string;
    reportedSize?: number;
  }): void {
    const filePath = file.filePath ?? `music/file_${this.nextFileNumber++}.${sniffExtension(file.content)}`;
    this.files.set(file.fileId, {
      fileId: file.fileId,
      fileUniqueId: file.fileUniqueId,
      content: file.content,
      filePath,
      reportedSize: file.reportedSize ?? file.content.length,
    });
  }

  waitForCall(
    method: string,
    predicate: (call: RecordedCall) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<RecordedCall> {
    const found = this.calls.find((call) => call.method === method && predicate(call));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        method,
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const seen = this.calls.map((call) => call.method).join(', ') || 'none';
          reject(
            new Error(`waitForCall('${method}') timed out after ${timeoutMs} ms; calls so far: ${seen}`),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  failNext(method: string, error: TelegramErrorSpec, times = 1): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.failures.set(method, queue);
  }

  async close(): Promise<void> {
    if (this.held) this.answerHeldPoll([]);
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`fake Telegram API closed while waiting for '${waiter.method}'`));
    }
    this.waiters.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise((resolve) => setImmediate(resolve)); // let the last answers flush
    this.server.closeAllConnections();
    await closed;
  }

  // --- HTTP layer ---

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download && (req.method === 'GET' || req.method === 'HEAD')) {
      return this.serveDownload(res, download[1], decodeURIComponent(download[2]));
    }
    const call = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z]+)$/.exec(url.pathname);
    if (!call) return answerError(res, new ApiError(404, 'Not Found'));
    if (call[1] !== this.token) return answerError(res, new ApiError(401, 'Unauthorized'));
    const body = await readBody(req);
    let request: ApiRequest;
    try {
      request = parseRequest(req.headers['content-type'] ?? '', body, url.searchParams);
    } catch (error) {
      return answerError(res, error instanceof ApiError ? error : badRequest("can't parse request"));
    }
    const method = call[2];
    if (method.toLowerCase() === 'getupdates') return this.getUpdates(res, request.params);
    this.answerCall(res, method, request, at);
  }

  /** Handles one non-getUpdates call: injected failure or handler, then records and answers it. */
  private answerCall(res: ServerResponse, method: string, request: ApiRequest, at: number): void {
    let result: unknown;
    let failure: ApiError | undefined;
    try {
      this.takeFailure(method);
      if (request.files.some((file) => file.content.length > MAX_UPLOAD_SIZE)) {
        throw new ApiError(413, 'Request Entity Too Large');
      }
      const handler = this.handlers[method.toLowerCase()];
      result = handler ? handler(request) : true;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      failure = error;
    }
    this.record({
      method,
      params: request.params,
      files: request.files,
      at,
      result: failure ? undefined : result,
    });
    if (failure) answerError(res, failure);
    else answerJson(res, 200, { ok: true, result });
  }

  /** Throws the next injected failure for `method`, if any. */
  private takeFailure(method: string): void {
    const spec = this.failures.get(method)?.shift();
    if (!spec) return;
    const retryAfter =
      spec.parameters?.retry_after ?? (spec.error_code === 429 ? parseRetryAfter(spec) : undefined);
    throw new ApiError(
      spec.error_code,
      spec.description,
      retryAfter === undefined ? spec.parameters : { ...spec.parameters, retry_after: retryAfter },
    );
  }

  private record(call: RecordedCall): void {
    this.calls.push(call);
    for (const waiter of this.waiters) {
      if (waiter.method !== call.method) continue;
      let matches: boolean;
      try {
        matches = waiter.predicate(call);
      } catch (error) {
        this.settleWaiter(waiter, () =>
          waiter.reject(error instanceof Error ? error : new Error(String(error))),
        );
        continue;
      }
      if (matches) this.settleWaiter(waiter, () => waiter.resolve(call));
    }
  }

  private settleWaiter(waiter: Waiter, settle: () => void): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
    settle();
  }

  private serveDownload(res: ServerResponse, token: string, filePath: string): void {
    if (token !== this.token) return answerError(res, new ApiError(404, 'Not Found'));
    this.downloads.push(filePath);
    const file = [...this.files.values()].find((stored) => stored.filePath === filePath);
    if (!file) return answerError(res, new ApiError(404, 'Not Found'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.content.length });
    res.end(file.content);
  }

  private answerUnexpected(res: ServerResponse, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    if (!res.headersSent) answerError(res, new ApiError(500, `Internal Server Error: ${detail}`));
    else res.destroy();
  }

  // --- getUpdates long polling ---

  private getUpdates(res: ServerResponse, params: Params): void {
    this.polls++;
    try {
      this.takeFailure('getUpdates');
    } catch (error) {
      return answerError(res, error as ApiError);
    }
    // A newer getUpdates terminates the one being held, as on Telegram.
    if (this.held) this.answerHeldPoll(undefined, new ApiError(409, CONFLICT));
    this.confirm(params.offset);
    if (Array.isArray(params.allowed_updates)) this.allowedUpdates = params.allowed_updates.map(String);
    const limit = clamp(toNumber(params.limit) ?? 100, 1, 100);
    const timeoutSeconds = Math.max(0, toNumber(params.timeout) ?? 0);
    if (this.pending.length > 0 || timeoutSeconds === 0) {
      return answerJson(res, 200, { ok: true, result: this.pending.slice(0, limit) });
    }
    const timer = setTimeout(() => this.answerHeldPoll([]), timeoutSeconds * 1000);
    this.held = { res, limit, timer };
    res.on('close', () => {
      if (this.held?.res !== res) return;
      clearTimeout(timer);
      this.held = undefined;
    });
  }

  /** Drops confirmed updates: those below `offset`, or all but the last -offset for a negative one. */
  private confirm(offsetValue: unknown): void {
    const offset = toNumber(offsetValue);
    if (offset === undefined || offset === 0) return;
    this.pending =
      offset > 0 ? this.pending.filter((u) => u.update_id >= offset) : this.pending.slice(offset);
  }

  private flushHeldPoll(): void {
    if (this.held && this.pending.length > 0) this.answerHeldPoll(this.pending.slice(0, this.held.limit));
  }

  private answerHeldPoll(updates: Update[] | undefined, error?: ApiError): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    clearTimeout(held.timer);
    if (error) answerError(held.res, error);
    else answerJson(held.res, 200, { ok: true, result: updates ?? [] });
  }

  private isAllowed(update: Update): boolean {
    const type = Object.keys(update).find((key) => key !== 'update_id');
    if (type === undefined) return true;
    const allowed = this.allowedUpdates;
    if (allowed === undefined || allowed.length === 0) return !OPT_IN_UPDATE_TYPES.includes(type);
    return allowed.includes(type);
  }

  /** Learns chat types and messages from anything pushed, so replies, edits and deletes can find them. */
  private observe(value: unknown, depth: number): void {
    if (depth > 4 || typeof value !== 'object' || value === null) return;
    const object = value as Params;
    const chat = object.chat as Partial<Chat> | undefined;
    if (chat && typeof chat.id === 'number' && typeof chat.type === 'string') {
      this.chatTypes.set(chat.id, chat.type);
    }
    if (chat && typeof object.message_id === 'number' && typeof chat.id === 'number') {
      const key = messageKey(chat.id, object.message_id);
      const from = object.from as User | undefined;
      if (!this.messages.has(key)) {
        this.messages.set(key, { message: object, fromBot: from?.id === this.botUser.id, deleted: false });
      }
    }
    for (const child of Object.values(object)) this.observe(child, depth + 1);
  }

  // --- method handlers ---

  private makeHandlers(): Record<string, Handler> {
    const alwaysTrue: Handler = () => true;
    const media =
      (kind: MediaKind): Handler =>
      (request) =>
        this.sendMedia(kind, request);
    return {
      getme: (): UserFromGetMe => ({ ...this.botUser, ...GET_ME_FLAGS }),
      deletewebhook: alwaysTrue,
      setmycommands: alwaysTrue,
      deletemycommands: alwaysTrue,
      answercallbackquery: alwaysTrue,
      sendchataction: alwaysTrue,
      setmessagereaction: alwaysTrue,
      close: alwaysTrue,
      logout: alwaysTrue,
      getfile: ({ params }) => this.getFile(params),
      sendmessage: ({ params }) => this.sendMessage(params),
      sendaudio: media('audio'),
      senddocument: media('document'),
      sendphoto: media('photo'),
      sendvoice: media('voice'),
      sendvideo: media('video'),
      sendmediagroup: (request) => this.sendMediaGroup(request),
      editmessagetext: ({ params }) => this.editMessageText(params),
      editmessagecaption: ({ params }) => this.editMessageCaption(params),
      editmessagereplymarkup: ({ params }) => this.editMessageReplyMarkup(params),
      deletemessage: ({ params }) => this.deleteMessage(params),
    };
  }

  private getFile(params: Params): Params {
    const file = this.files.get(String(params.file_id ?? ''));
    if (!file) throw badRequest('invalid file_id');
    if (file.reportedSize > MAX_DOWNLOAD_SIZE) throw badRequest('file is too big');
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_size: file.reportedSize,
      file_path: file.filePath,
    };
  }

  private sendMessage(params: Params): Params {
    const chatId = toChatId(params.chat_id);
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim() === '') throw badRequest('message text is empty');
    if (text.length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
    return this.storeBotMessage(chatId, params, {
      text,
      entities: params.entities,
      reply_markup: inlineMarkup(params.reply_markup),
    });
  }

  private sendMedia(kind: MediaKind, { params, files }: ApiRequest): Params {
    const chatId = toChatId(params.chat_id);
    checkCaption(params.caption);
    const source =
      this.resolveMedia(kind, params[kind], files) ?? this.resolveMedia(kind, `attach://${kind}`, files);
    if (!source) throw badRequest(`there is no ${kind} in the request`);
    return this.storeBotMessage(chatId, params, {
      [kind]: mediaObject(kind, source, params),
      caption: params.caption,
    });
  }

  private sendMediaGroup({ params, files }: ApiRequest): Params[] {
    const chatId = toChatId(params.chat_id);
    const items = params.media;
    if (items === undefined) throw badRequest('parameter "media" is required');
    if (!Array.isArray(items)) throw badRequest("can't parse media JSON object");
    if (items.length === 0) throw badRequest('there are no messages to send');
    if (items.length > MAX_ALBUM_SIZE) throw badRequest('too many messages to send as an album');
    const parsed = items.map((item: Params) => this.albumItem(item, files));
    checkAlbumMix(parsed.map(({ kind }) => kind));
    // As on Telegram, a single item is sent as a plain message outside any album.
    const groupId =
      parsed.length > 1 ? `1300000000${String(this.nextMediaGroup++).padStart(7, '0')}` : undefined;
    return parsed.map(({ kind, source, item }) =>
      this.storeBotMessage(chatId, params, {
        media_group_id: groupId,
        [kind]: mediaObject(kind, source, item),
        caption: item.caption,
      }),
    );
  }

  private albumItem(
    item: Params,
    files: RecordedFile[],
  ): { kind: MediaKind; source: MediaSource; item: Params } {
    const type = String(item?.type ?? '');
    if (type === 'animation' || type === 'voice') {
      throw badRequest(`can't parse InputMedia: type "${type}" can't be used in sendMediaGroup`);
    }
    if (!['audio', 'document', 'photo', 'video'].includes(type)) {
      throw badRequest(`can't parse InputMedia: type "${type}" is unsupported`);
    }
    checkCaption(item.caption);
    const kind = type as MediaKind;
    const source = this.resolveMedia(kind, item.media, files);
    if (!source) throw badRequest("can't parse InputMedia: media not found");
    return { kind, source, item };
  }

  /** attach://<field> → that upload (registered as a new file); other strings are file_ids or URLs, kept. */
  private resolveMedia(kind: MediaKind, value: unknown, files: RecordedFile[]): MediaSource | undefined {
    if (typeof value !== 'string' || value === '') return undefined;
    if (value.startsWith('attach://')) {
      const upload = files.find((file) => file.field === value.slice('attach://'.length));
      return upload && this.registerUpload(kind, upload);
    }
    const known = this.files.get(value);
    if (known) return { fileId: known.fileId, fileUniqueId: known.fileUniqueId, size: known.reportedSize };
    return { fileId: value, fileUniqueId: `u${createHash('sha1').update(value).digest('hex').slice(0, 15)}` };
  }

  /** Stores an upload so getFile and downloads work on the file_id the bot gets back, as on Telegram. */
  private registerUpload(kind: MediaKind, upload: RecordedFile): MediaSource {
    const number = this.nextFileNumber++;
    const { dir, ext } = MEDIA_KINDS[kind];
    const fileId = `fake-${kind}-${number}`;
    const fileUniqueId = `fake-unique-${number}`;
    const uploadExt = extensionOf(upload.name);
    this.files.set(fileId, {
      fileId,
      fileUniqueId,
      content: upload.content,
      filePath: `${dir}/file_${number}.${uploadExt ?? ext}`,
      reportedSize: upload.content.length,
    });
    const mime =
      MIME_TYPES[uploadExt ?? ''] ?? (upload.type !== 'application/octet-stream' ? upload.type : undefined);
    return { fileId, fileUniqueId, size: upload.content.length, name: upload.name || undefined, mime };
  }

  private editMessageText(params: Params): Params | true {
    if (params.inline_message_id !== undefined) return true;
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim() === '') throw badRequest('message text is empty');
    if (text.length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
    const stored = this.editable(params);
    if (typeof stored.message.text !== 'string') throw badRequest('there is no text in the message to edit');
    return this.applyEdit(stored, {
      text,
      entities: params.entities,
      reply_markup: inlineMarkup(params.reply_markup),
    });
  }

  private editMessageCaption(params: Params): Params | true {
    if (params.inline_message_id !== undefined) return true;
    checkCaption(params.caption);
    const stored = this.editable(params);
    if (typeof stored.message.text === 'string') {
      throw badRequest('there is no caption in the message to edit');
    }
    return this.applyEdit(stored, {
      caption: params.caption,
      caption_entities: params.caption_entities,
      reply_markup: inlineMarkup(params.reply_markup),
    });
  }

  private editMessageReplyMarkup(params: Params): Params | true {
    if (params.inline_message_id !== undefined) return true;
    return this.applyEdit(this.editable(params), { reply_markup: inlineMarkup(params.reply_markup) });
  }

  private deleteMessage(params: Params): true {
    const stored = this.messages.get(messageKey(toChatId(params.chat_id), toNumber(params.message_id) ?? 0));
    if (!stored || stored.deleted) throw badRequest('message to delete not found');
    stored.deleted = true;
    return true;
  }

  /** The live bot message an edit targets, or Telegram's error for a missing or foreign one. */
  private editable(params: Params): StoredMessage {
    const chatId = toChatId(params.chat_id);
    const messageId = toNumber(params.message_id);
    if (messageId === undefined) throw badRequest('message identifier is not specified');
    const stored = this.messages.get(messageKey(chatId, messageId));
    if (!stored || stored.deleted) throw badRequest('message to edit not found');
    if (!stored.fromBot) throw badRequest("message can't be edited");
    return stored;
  }

  /** Applies changed fields, refusing an edit that changes nothing, as Telegram does. */
  private applyEdit(stored: StoredMessage, changes: Params): Params {
    const unchanged = Object.entries(changes).every(
      ([key, value]) => JSON.stringify(value) === JSON.stringify(stored.message[key]),
    );
    if (unchanged) throw badRequest(NOT_MODIFIED);
    stored.message = compact({ ...stored.message, ...changes, edit_date: nowSeconds() });
    return stored.message;
  }

  /** Builds a message from the bot in `chatId`, remembers it for edits and deletes, and returns it. */
  private storeBotMessage(chatId: number, params: Params, content: Params): Params {
    const replyTo = this.repliedMessage(chatId, params); // may refuse the send, so before taking an id
    const message = compact({
      message_id: this.nextMessageId++,
      from: this.sender,
      chat: { id: chatId, type: this.chatTypes.get(chatId) ?? (chatId > 0 ? 'private' : 'supergroup') },
      date: nowSeconds(),
      reply_to_message: replyTo,
      ...content,
    });
    this.messages.set(messageKey(chatId, message.message_id as number), {
      message,
      fromBot: true,
      deleted: false,
    });
    return message;
  }

  /** The message a send replies to; an unknown one is refused unless allow_sending_without_reply is set. */
  private repliedMessage(chatId: number, params: Params): Params | undefined {
    const reply = (params.reply_parameters ?? {}) as Params;
    const replyId = toNumber(reply.message_id ?? params.reply_to_message_id);
    if (replyId === undefined) return undefined;
    const stored = this.messages.get(messageKey(chatId, replyId));
    if (!stored || stored.deleted) {
      const lenient = reply.allow_sending_without_reply ?? params.allow_sending_without_reply;
      if (lenient === true || lenient === 'true') return undefined;
      throw badRequest('message to be replied not found');
    }
    // Telegram does not nest replies inside reply_to_message.
    return compact({ ...stored.message, reply_to_message: undefined });
  }
}

// --- request parsing ---

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads query parameters plus a JSON, urlencoded or multipart body into params and file parts. */
function parseRequest(contentType: string, body: Buffer, query: URLSearchParams): ApiRequest {
  const params: Params = {};
  for (const [key, value] of query) params[key] = parseTextField(value);
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    const text = body.toString('utf8').trim();
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw badRequest('parameters must be a JSON object');
    }
    return { params: { ...params, ...(parsed as Params) }, files: [] };
  }
  if (type === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
      params[key] = parseTextField(value);
    }
    return { params, files: [] };
  }
  if (type === 'multipart/form-data') {
    const boundary = multipartBoundary(contentType);
    if (!boundary) throw badRequest('multipart boundary is missing');
    const { fields, files } = parseMultipart(body, boundary);
    for (const [key, value] of fields) params[key] = parseTextField(value);
    return { params, files };
  }
  return { params, files: [] };
}

/** Text fields holding JSON objects or arrays (media, reply_markup, …) are parsed; others stay strings. */
function parseTextField(value: string): unknown {
  if (!/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

// --- answers ---

function answerJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function answerError(res: ServerResponse, error: ApiError): void {
  answerJson(res, error.errorCode, {
    ok: false,
    error_code: error.errorCode,
    description: error.description,
    ...(error.parameters ? { parameters: error.parameters } : {}),
  });
}

// --- small helpers ---

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function messageKey(chatId: number, messageId: number): string {
  return `${chatId}:${messageId}`;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** chat_id arrives as a number or a numeric string; @usernames are unknown to the fake. */
function toChatId(value: unknown): number {
  if (value === undefined || value === '') throw badRequest('chat_id is empty');
  const id = toNumber(value);
  if (id === undefined || id === 0) throw badRequest('chat not found');
  return id;
}

function checkCaption(caption: unknown): void {
  if (typeof caption === 'string' && caption.length > MAX_CAPTION_LENGTH) {
    throw badRequest('message caption is too long');
  }
}

/** Telegram groups audio only with audio and documents only with documents. */
function checkAlbumMix(kinds: MediaKind[]): void {
  for (const solo of ['audio', 'document'] as const) {
    if (kinds.includes(solo) && kinds.some((kind) => kind !== solo)) {
      throw badRequest(`${solo} can't be mixed with other media types`);
    }
  }
}

/** Only inline keyboards come back in Message.reply_markup; reply keyboards are not echoed. */
function inlineMarkup(markup: unknown): unknown {
  return typeof markup === 'object' && markup !== null && 'inline_keyboard' in markup ? markup : undefined;
}

function parseRetryAfter(spec: TelegramErrorSpec): number {
  const seconds = /retry after (\d+)/i.exec(spec.description)?.[1];
  return seconds ? Number(seconds) : 1;
}

/** The message field describing a sent file, shaped as Telegram shapes each kind. */
function mediaObject(kind: MediaKind, source: MediaSource, meta: Params): unknown {
  const ids = { file_id: source.fileId, file_unique_id: source.fileUniqueId };
  const duration = toNumber(meta.duration) ?? 0;
  switch (kind) {
    case 'audio':
      return compact({
        ...ids,
        duration,
        performer: meta.performer,
        title: meta.title,
        file_name: source.name,
        mime_type: source.mime,
        file_size: source.size,
      });
    case 'document':
      return compact({ ...ids, file_name: source.name, mime_type: source.mime, file_size: source.size });
    case 'photo':
      return [compact({ ...ids, width: 1, height: 1, file_size: source.size })];
    case 'voice':
      return compact({ ...ids, duration, mime_type: source.mime, file_size: source.size });
    case 'video':
      return compact({
        ...ids,
        width: toNumber(meta.width) ?? 1,
        height: toNumber(meta.height) ?? 1,
        duration,
        file_name: source.name,
        mime_type: source.mime,
        file_size: source.size,
      });
  }
}

/** Drops undefined fields so results compare equal to what the client parses from JSON. */
function compact(object: Params): Params {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

function extensionOf(name: string): string | undefined {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(name);
  return match ? match[1].toLowerCase() : undefined;
}

/** A file extension guessed from magic bytes, for default getFile paths. */
function sniffExtension(content: Buffer): string {
  const head = content.subarray(0, 12).toString('latin1');
  if (head.startsWith('ID3') || (content[0] === 0xff && (content[1] & 0xe0) === 0xe0)) return 'mp3';
  if (head.startsWith('fLaC')) return 'flac';
  if (head.startsWith('OggS')) return 'ogg';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WAVE') return 'wav';
  if (head.slice(4, 8) === 'ftyp') return 'm4a';
  return 'bin';
}
