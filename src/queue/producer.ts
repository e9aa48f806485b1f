import { createHash, randomUUID } from 'node:crypto';

import { Job, Queue } from 'bullmq';

import { PIPELINE_CACHE_VERSION } from '../pipeline/cache/stepCache.js';
import { attachRequest } from './jobRequests.js';
import {
  type JobSource,
  type MixSettings,
  type ReplyTarget,
  type Requester,
  SEPARATE_QUEUE,
  type SeparateJobData,
  type SeparationSettings,
  separateJobSchema,
} from './jobSchema.js';
import type { QueueContext } from './queueContext.js';
import { addOpenRequest } from './openRequests.js';
import { type QuotaLimits, quotaRefusalMessage, releaseQuota, reserveQuota } from './quotas.js';
import { queuedProgress } from './queuePosition.js';

export interface SubmitRequest {
  readonly source: JobSource;
  readonly settings?: Partial<SeparationSettings>;
  /** a mix instead of a separation: `source` is the backing track, `vocal` the recording laid over it */
  readonly mix?: { readonly vocal: JobSource; readonly settings?: Partial<MixSettings> };
  readonly requester: Requester;
  readonly replyTo: ReplyTarget;
}

export type SubmitOutcome =
  | {
      readonly status: 'queued';
      readonly jobId: string;
      readonly requestId: string;
      /** 1-based place among waiting jobs (0 if a worker took it already) */
      readonly position: number;
      /** seconds until it starts, from recent jobs; null until one has completed */
      readonly etaS: number | null;
    }
  | { readonly status: 'attached'; readonly jobId: string; readonly requestId: string }
  | { readonly status: 'refused'; readonly reason: string };

export interface ProducerOptions {
  readonly context: QueueContext;
  readonly limits: QuotaLimits;
  /** attempts for transient faults (network, a worker lost); bad input never retries */
  readonly attempts?: number;
}

/**
 * The one way bots put work on the queue (design §2 "intake"): quota first, then dedup, then enqueue.
 * The same source with the same settings while a job for it waits or runs attaches the new requester to that job
 * (BullMQ deduplication, simple mode: the id is held until the job completes or fails).
 */
export class SeparationProducer {
  readonly queue: Queue<SeparateJobData>;
  readonly #context: QueueContext;
  readonly #limits: QuotaLimits;
  readonly #attempts: number;

  constructor(options: ProducerOptions) {
    this.#context = options.context;
    this.#limits = options.limits;
    this.#attempts = options.attempts ?? 3;
    this.queue = new Queue<SeparateJobData>(SEPARATE_QUEUE, {
      connection: options.context.redis,
      prefix: options.context.prefix,
    });
  }

  async submit(submission: SubmitRequest): Promise<SubmitOutcome> {
    const requestId = randomUUID();
    const data = separateJobSchema.parse({
      version: 1,
      source: submission.source,
      settings: submission.settings ?? {},
      ...(submission.mix
        ? { mix: { vocal: submission.mix.vocal, settings: submission.mix.settings ?? {} } }
        : {}),
      request: {
        requestId,
        requester: submission.requester,
        replyTo: submission.replyTo,
        requestedAt: Date.now(),
      },
    });
    const decision = await reserveQuota(this.#context, data.request.requester, requestId, this.#limits);
    if (!decision.ok) return { status: 'refused', reason: quotaRefusalMessage(decision) };
    try {
      // A job that finished between our add and our attach closed its list: enqueue again (cheap: step cache).
      for (let attempt = 0; attempt < 3; attempt++) {
        const job = await this.queue.add(data.mix ? 'mix' : 'separate', data, {
          deduplication: { id: dedupId(data) },
          attempts: this.#attempts,
          backoff: { type: 'exponential', delay: 5000 },
          // few completed jobs, more failed ones (design §4 "retention")
          removeOnComplete: { age: 3600, count: 200 },
          removeOnFail: { age: 7 * 86400, count: 2000 },
        });
        const jobId = job.id!;
        const stored = await Job.fromId<SeparateJobData>(this.queue, jobId);
        if (stored?.data.request.requestId === requestId) {
          await this.#remember(data, jobId);
          const waiting = await queuedProgress(this.#context, this.queue, jobId);
          return {
            status: 'queued',
            jobId,
            requestId,
            position: waiting?.queuePosition ?? 0,
            etaS: waiting?.etaS ?? null,
          };
        }
        if (await attachRequest(this.#context, jobId, data.request)) {
          await this.#remember(data, jobId);
          return { status: 'attached', jobId, requestId };
        }
      }
      throw new Error('could not enqueue: the job kept finishing while attaching');
    } catch (error) {
      await releaseQuota(this.#context, data.request.requester, requestId);
      throw error;
    }
  }

  /** Lets the user find the request again (`/cancel`) until it is answered. */
  async #remember(data: SeparateJobData, jobId: string): Promise<void> {
    const { requester, requestId, replyTo, requestedAt } = data.request;
    await addOpenRequest(this.#context, requester, {
      requestId,
      jobId,
      chatId: replyTo.chatId,
      at: requestedAt,
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** Same song (and vocal, for a mix), same settings, same pipeline version → same job. */
export function dedupId(data: SeparateJobData): string {
  const mix = data.mix ? { vocal: data.mix.vocal.identity, settings: data.mix.settings } : undefined;
  return createHash('sha256')
    .update(
      JSON.stringify({
        v: PIPELINE_CACHE_VERSION,
        source: data.source.identity,
        settings: data.settings,
        mix,
      }),
    )
    .digest('hex');
}
