import { Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';

import { attachedRequests, wasDelivered } from '../../queue/jobRequests.js';
import type { ReplyTarget, SeparateJobData } from '../../queue/jobSchema.js';
import type { JobProgress } from '../../queue/progress.js';
import type { QueueContext } from '../../queue/queueContext.js';
import { songTitle } from '../../queue/songTitle.js';
import { describeJob } from './settingsNames.js';

/** One status message as a platform addresses it. */
export interface BoardAddress {
  /** the same for every edit of one message, e.g. `chat:message` or an interaction token */
  readonly key: string;
  /** the least time between two edits of this message, ms */
  readonly intervalMs: number;
}

/**
 * How one platform shows a job's status (design §2: the bot side edits one status message per request). The
 * queue knows no platform; each bot passes its own surface to {@link StatusBoards}.
 */
export interface StatusSurface {
  readonly platform: string;
  /** the status message of a request, or null when it has none or it can no longer be edited */
  boardOf(replyTo: ReplyTarget): BoardAddress | null;
  /** the text of the status message */
  render(title: string, settings: string, progress: JobProgress): string;
  /** edits the message; a refusal (message deleted, token expired) is logged at debug level and ignored */
  edit(replyTo: ReplyTarget, text: string, jobId: string): Promise<unknown>;
}

interface Board {
  readonly address: BoardAddress;
  readonly replyTo: ReplyTarget;
  lastEditAt: number;
  lastText: string;
  pending: string | null;
  timer: NodeJS.Timeout | null;
}

interface JobBoards {
  readonly boards: Board[];
  readonly loadedAt: number;
  readonly title: string;
  /** the settings line, as `describeJob` words it */
  readonly settings: string;
}

/** How long a job's list of status messages is trusted before it is read again (requests attach later). */
const BOARDS_TTL_MS = 10_000;

/**
 * Keeps each waiting user's status message in step with the worker's progress (QueueEvents, design §2), at
 * most one edit per interval per message, the latest state always shown in the end. Which messages belong to
 * a job is read from Redis (the job's requests carry them), so a restarted bot picks up jobs that began
 * before it. The worker replaces the status message when it answers; edits after that fail and are ignored.
 */
export class StatusBoards {
  readonly #jobs = new Map<string, Promise<JobBoards | null>>();
  /** edits made elsewhere (the acknowledgement), by board key, so the interval counts them too */
  readonly #editedElsewhere = new Map<string, { readonly at: number; readonly text: string }>();
  readonly #surface: StatusSurface;
  readonly #context: QueueContext;
  readonly #queue: Queue<SeparateJobData>;
  readonly #logger: Logger;

  constructor(surface: StatusSurface, context: QueueContext, queue: Queue<SeparateJobData>, logger: Logger) {
    this.#surface = surface;
    this.#context = context;
    this.#queue = queue;
    this.#logger = logger;
  }

  onProgress(jobId: string, progress: JobProgress): void {
    // the worker replaces the status message as it sends the answer: nothing left to show
    if (progress.stage === 'deliver') return;
    void this.#boards(jobId)
      .then((job) => {
        if (!job) return;
        const text = this.#surface.render(job.title, job.settings, progress);
        for (const board of job.boards) this.#show(jobId, board, text);
      })
      .catch((error: unknown) => this.#logger.debug({ jobId, err: String(error) }, 'status not updated'));
  }

  /** Tells the boards about an edit the bot made itself (the queue position after submitting). */
  recordEdit(key: string, text: string): void {
    const now = Date.now();
    for (const [known, edit] of this.#editedElsewhere)
      if (now - edit.at > 60_000) this.#editedElsewhere.delete(known);
    this.#editedElsewhere.set(key, { at: now, text });
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
        if (request.replyTo.platform !== this.#surface.platform) continue;
        if (await wasDelivered(this.#context, jobId, request.requestId)) continue; // answered or cancelled
        const address = this.#surface.boardOf(request.replyTo);
        if (address === null) continue;
        const known = previous?.boards.find((board) => board.address.key === address.key);
        const elsewhere = this.#editedElsewhere.get(address.key);
        boards.push(
          known ?? {
            address,
            replyTo: request.replyTo,
            lastEditAt: elsewhere?.at ?? 0,
            lastText: elsewhere?.text ?? '',
            pending: null,
            timer: null,
          },
        );
      }
      return {
        boards,
        loadedAt: Date.now(),
        title: songTitle(job.data.source),
        settings: describeJob(job.data),
      };
    })();
    this.#jobs.set(jobId, loading);
    return loading;
  }

  /** Edits now if the interval allows, else once it does (with whatever is latest by then). */
  #show(jobId: string, board: Board, text: string): void {
    if (text === board.lastText) return;
    board.pending = text;
    if (board.timer) return;
    const wait = board.lastEditAt + board.address.intervalMs - Date.now();
    const flush = () => {
      board.timer = null;
      const next = board.pending;
      board.pending = null;
      if (next === null || next === board.lastText) return;
      // a message that can no longer be edited (a Discord token that expired meanwhile) is left as it is
      if (this.#surface.boardOf(board.replyTo) === null) return;
      board.lastEditAt = Date.now();
      board.lastText = next;
      this.#surface
        .edit(board.replyTo, next, jobId)
        .catch((error: unknown) => this.#logger.debug({ jobId, err: String(error) }, 'status edit refused'));
    };
    if (wait <= 0) flush();
    else board.timer = setTimeout(flush, wait);
  }
}
