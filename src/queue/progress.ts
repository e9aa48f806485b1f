import type { QueueEvents } from 'bullmq';
import { z } from 'zod';

/** What a worker reports while it runs a job (issue 4 item 3); bots turn it into a status line. */
export const progressSchema = z.object({
  stage: z.enum(['queued', 'download', 'decode', 'separate', 'mix', 'encode', 'deliver']),
  /** of the whole job, 0..100 */
  pct: z.number().min(0).max(100),
  /** 1-based place among waiting jobs; 0 while running */
  queuePosition: z.number().int().min(0),
  /** seconds until done (running) or until it starts (queued); null when unknown */
  etaS: z.number().min(0).nullable(),
});
export type JobProgress = z.infer<typeof progressSchema>;
/** A job's stages as workers report them, in order ('queued' is the bots' own). */
export type JobStage = Exclude<JobProgress['stage'], 'queued'>;

/**
 * Passes a report on at most every `intervalMs`, except stage changes and the final 100 %, which always pass:
 * every progress report is a Redis write and, on the bot side, a chat message edit.
 */
export function throttleProgress(
  send: (progress: JobProgress) => void,
  intervalMs: number,
  now: () => number = Date.now,
): (progress: JobProgress) => void {
  let lastAt = -Infinity;
  let lastStage: string | undefined;
  return (progress) => {
    const at = now();
    if (progress.stage === lastStage && progress.pct < 100 && at - lastAt < intervalMs) return;
    lastAt = at;
    lastStage = progress.stage;
    send(progress);
  };
}

export interface JobEventHandlers {
  onProgress?(jobId: string, progress: JobProgress): void;
  onCompleted?(jobId: string): void;
  onFailed?(jobId: string, reason: string): void;
}

/**
 * The bots' view of running jobs, through BullMQ's QueueEvents (its own blocking connection). Reports that do not
 * parse are ignored: they come from another version of the worker. Returns an unsubscribe function.
 */
export function subscribeToJobs(events: QueueEvents, handlers: JobEventHandlers): () => void {
  const progress = ({ jobId, data }: { jobId: string; data: unknown }) => {
    const parsed = progressSchema.safeParse(data);
    if (parsed.success) handlers.onProgress?.(jobId, parsed.data);
  };
  const completed = ({ jobId }: { jobId: string }) => handlers.onCompleted?.(jobId);
  const failed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) =>
    handlers.onFailed?.(jobId, failedReason);
  events.on('progress', progress);
  events.on('completed', completed);
  events.on('failed', failed);
  return () => {
    events.off('progress', progress);
    events.off('completed', completed);
    events.off('failed', failed);
  };
}
