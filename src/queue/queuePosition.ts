import type { Queue } from 'bullmq';

import { summarizeJobOutcomes } from './jobOutcomes.js';
import type { JobProgress } from './progress.js';
import type { QueueContext } from './queueContext.js';
import { listWorkers } from './workerHeartbeat.js';

/**
 * 1-based place of a job among the jobs not yet started (0 once it runs or is gone). OSS BullMQ has no position
 * API (platforms §3), so this is the rank in the prioritized and waiting lists, in the order workers take them.
 */
export async function queuePosition(queue: Queue, jobId: string): Promise<number> {
  const waiting = await queue.getJobs(['prioritized', 'waiting'], 0, -1, true);
  const index = waiting.findIndex((job) => job?.id === jobId);
  return index + 1;
}

/**
 * Seconds until a job at `position` starts: the jobs ahead of it, plus about half a job for each one running now,
 * shared among the workers, each taking `meanJobSeconds`.
 */
export function estimateWaitS(
  position: number,
  meanJobSeconds: number,
  runningJobs: number,
  workers: number,
): number {
  if (position <= 0) return 0;
  return ((position - 1 + runningJobs / 2) / Math.max(1, workers)) * meanJobSeconds;
}

/**
 * What a waiting job's status line shows: its place and an ETA from the moving averages of the jobs that ended in
 * the last hour (else day): mean audio seconds × mean real-time factor per job. Null when the job is not waiting
 * (running jobs report their own progress); etaS is null until a job has completed.
 */
export async function queuedProgress(
  context: QueueContext,
  queue: Queue,
  jobId: string,
): Promise<JobProgress | null> {
  const position = await queuePosition(queue, jobId);
  if (position === 0) return null;
  const [summary, running, workers] = await Promise.all([
    summarizeJobOutcomes(context),
    queue.getActiveCount(),
    listWorkers(context),
  ]);
  const window = summary.lastHour.meanAudioS !== null ? summary.lastHour : summary.lastDay;
  const meanJobSeconds =
    window.meanAudioS !== null && window.meanRealTimeFactor !== null
      ? window.meanAudioS * window.meanRealTimeFactor
      : null;
  return {
    stage: 'queued',
    pct: 0,
    queuePosition: position,
    etaS: meanJobSeconds === null ? null : estimateWaitS(position, meanJobSeconds, running, workers.length),
  };
}
