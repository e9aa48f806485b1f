import { Job, type Queue } from 'bullmq';
import { type Api, InlineKeyboard } from 'grammy';
import type { Logger } from 'pino';

import { attachedRequests, wasDelivered } from '../../queue/jobRequests.js';
import type { SeparateJobData, SeparationSettings } from '../../queue/jobSchema.js';
import type { JobProgress } from '../../queue/progress.js';
import type { QueueContext } from '../../queue/queueContext.js';
import { songTitle } from '../../queue/songTitle.js';
import { statusLine } from '../core/statusText.js';
import { describeSettings } from './settingsKeyboard.js';
import { telegramChat, TELEGRAM_PLATFORM } from './telegramTarget.js';

/** Callback data of the Cancel button under a status message: `cancel:<jobId>`. */
export const CANCEL_CALLBACK_PREFIX = 'cancel:';

export function cancelKeyboard(jobId: string): InlineKeyboard {
  return new InlineKeyboard().text('✖️ Cancel', `${CANCEL_CALLBACK_PREFIX}${jobId}`);
}

/** The status message: the song, where its job is, and the settings it runs with. */
export function statusText(title: string, settings: SeparationSettings, progress: JobProgress): string {
  return [`🎵 ${title}`, statusLine(progress, { barWidth: 10 }), describeSettings(settings)].join('\n');
}

/**
 * Edit intervals: Telegram allows about 20 edits a minute in a group (platforms §2b), so at most one every 3 s
 * there; private chats take more.
 */
export const EDIT_INTERVAL_MS = { group: 3000, private: 1000 } as const;

interface Board {
  readonly chatId: number;
  readonly messageId: number;
  readonly intervalMs: number;
  lastEditAt: number;
  lastText: string;
  pending: string | null;
  timer: NodeJS.Timeout | null;
}

interface JobBoards {
  readonly boards: Board[];
  readonly loadedAt: number;
  readonly title: string;
  readonly settings: SeparationSettings;
}

/** How long a job's list of status messages is trusted before it is read again (requests attach later). */
const BOARDS_TTL_MS = 10_000;

/**
 * Keeps each waiting user's status message in step with the worker's progress (QueueEvents, design §2), at
 * most one edit per interval per message, the latest state always shown in the end. Which messages belong to
 * a job is read from Redis (the job's requests carry them), so a restarted bot picks up jobs that began
 * before it. The worker deletes the status message when it answers; edits after that fail and are ignored.
 */
export class StatusMessages {
  readonly #jobs = new Map<string, Promise<JobBoards | null>>();
  /** edits made elsewhere (the acknowledgement), by `chat:message`, so the interval counts them too */
  readonly #editedElsewhere = new Map<string, { readonly at: number; readonly text: string }>();
  readonly #api: Api;
  readonly #context: QueueContext;
  readonly #queue: Queue<SeparateJobData>;
  readonly #logger: Logger;

  constructor(api: Api, context: QueueContext, queue: Queue<SeparateJobData>, logger: Logger) {
    this.#api = api;
    this.#context = context;
    this.#queue = queue;
    this.#logger = logger;
  }

  onProgress(jobId: string, progress: JobProgress): void {
    // the worker removes the status message as it sends the answer: nothing left to show
    if (progress.stage === 'deliver') return;
    void this.#boards(jobId)
      .then((job) => {
        if (!job) return;
        const text = statusText(job.title, job.settings, progress);
        for (const board of job.boards) this.#show(jobId, board, text);
      })
      .catch((error: unknown) => this.#logger.debug({ jobId, err: String(error) }, 'status not updated'));
  }

  /** Tells the board about an edit the bot made itself (the queue position after submitting). */
  recordEdit(chatId: number, messageId: number, text: string): void {
    const now = Date.now();
    for (const [key, edit] of this.#editedElsewhere)
      if (now - edit.at > 60_000) this.#editedElsewhere.delete(key);
    this.#editedElsewhere.set(`${chatId}:${messageId}`, { at: now, text });
  }

  /** The job ended (answered by the worker): no more edits. */
  onFinished(jobId: string): void {
    const entry = this.#jobs.get(jobId);
    this.#jobs.delete(jobId);
    void entry?.then((job) => job?.boards.forEach((board) => board.timer && clearTimeout(board.timer)));
  }

  close(): void {
    for (const jobId of [...this.#jobs.keys()]) this.onFinished(jobId);
  }

  #boards(jobId: string): Promise<JobBoards | null> {
    const cached = this.#jobs.get(jobId);
    if (cached) {
      return cached.then((job) => {
        if (job && Date.now() - job.loadedAt < BOARDS_TTL_MS) return job;
        return this.#load(jobId, job);
      });
    }
    return this.#load(jobId, null);
  }

  #load(jobId: string, previous: JobBoards | null): Promise<JobBoards | null> {
    const loading = (async (): Promise<JobBoards | null> => {
      const job = await Job.fromId<SeparateJobData>(this.#queue, jobId);
      if (!job) return null;
      const requests = [job.data.request, ...(await attachedRequests(this.#context, jobId))];
      const boards: Board[] = [];
      for (const request of requests) {
        if (request.replyTo.platform !== TELEGRAM_PLATFORM) continue;
        if (await wasDelivered(this.#context, jobId, request.requestId)) continue; // answered or cancelled
        const chat = telegramChat(request.replyTo);
        if (chat.statusMessageId === null) continue;
        const known = previous?.boards.find(
          (board) => board.chatId === chat.chatId && board.messageId === chat.statusMessageId,
        );
        const elsewhere = this.#editedElsewhere.get(`${chat.chatId}:${chat.statusMessageId}`);
        boards.push(
          known ?? {
            chatId: chat.chatId,
            messageId: chat.statusMessageId,
            intervalMs: chat.chatId < 0 ? EDIT_INTERVAL_MS.group : EDIT_INTERVAL_MS.private,
            lastEditAt: elsewhere?.at ?? 0,
            lastText: elsewhere?.text ?? '',
            pending: null,
            timer: null,
          },
        );
      }
      return { boards, loadedAt: Date.now(), title: songTitle(job.data.source), settings: job.data.settings };
    })();
    this.#jobs.set(jobId, loading);
    return loading;
  }

  /** Edits now if the interval allows, else once it does (with whatever is latest by then). */
  #show(jobId: string, board: Board, text: string): void {
    if (text === board.lastText) return;
    board.pending = text;
    if (board.timer) return;
    const wait = board.lastEditAt + board.intervalMs - Date.now();
    const flush = () => {
      board.timer = null;
      const next = board.pending;
      board.pending = null;
      if (next === null || next === board.lastText) return;
      board.lastEditAt = Date.now();
      board.lastText = next;
      this.#api
        .editMessageText(board.chatId, board.messageId, next, { reply_markup: cancelKeyboard(jobId) })
        .catch((error: unknown) => this.#logger.debug({ jobId, err: String(error) }, 'status edit refused'));
    };
    if (wait <= 0) flush();
    else board.timer = setTimeout(flush, wait);
  }
}
