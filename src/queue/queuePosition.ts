import type { Queue } from 'bullmq';

/**
 * 1-based place of a job among the jobs not yet started (0 once it runs or is gone). OSS BullMQ has no position
 * API (platforms §3), so this is the rank in the waiting list, oldest first, plus the prioritized jobs ahead.
 */
export async function queuePosition(queue: Queue, jobId: string): Promise<number> {
  const waiting = await queue.getJobs(['prioritized', 'waiting'], 0, -1, true);
  const index = waiting.findIndex((job) => job?.id === jobId);
  return index + 1;
}

/** Seconds until a job at `position` starts, from the mean seconds a job takes (moving average). */
export function estimateWaitS(
  position: number,
  meanJobSeconds: number,
  runningJobs: number,
  workers: number,
): number {
  if (position <= 0) return 0;
  const slots = Math.max(1, workers);
  // jobs ahead, plus about half a job for the ones running now
  return ((position - 1 + runningJobs / 2) / slots) * meanJobSeconds;
}
