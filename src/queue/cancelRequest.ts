import { Job, type Queue } from 'bullmq';

import { publishCancel } from './cancelRelay.js';
import { attachedRequests, closeRequests, markCancelled, wasDelivered } from './jobRequests.js';
import type { Requester, SeparateJobData } from './jobSchema.js';
import { listOpenRequests, type OpenRequest, removeOpenRequest } from './openRequests.js';
import type { QueueContext } from './queueContext.js';
import { releaseQuota } from './quotas.js';

export type CancelOutcome =
  /** the request will not be answered; its job was removed or aborted when nobody else waits for it */
  | 'cancelled'
  /** it was answered (or cancelled) already */
  | 'too-late';

/**
 * Cancels one request of a user. The request is marked answered, so no attempt delivers to it, and its quota
 * slot is freed. The job itself stops only when no other request waits for it (deduplication attaches several
 * users to one job): a waiting job is removed, a running one aborted through the cancel relay.
 */
export async function cancelRequest(
  context: QueueContext,
  queue: Queue<SeparateJobData>,
  requester: Requester,
  open: OpenRequest,
): Promise<CancelOutcome> {
  const marked = await markCancelled(context, open.jobId, open.requestId);
  await removeOpenRequest(context, requester, open.requestId);
  if (!marked) return 'too-late';
  await releaseQuota(context, requester, open.requestId);

  const job = await Job.fromId<SeparateJobData>(queue, open.jobId);
  if (!job) return 'cancelled';
  const attached = await attachedRequests(context, open.jobId);
  for (const request of [job.data.request, ...attached]) {
    if (!(await wasDelivered(context, open.jobId, request.requestId))) return 'cancelled'; // someone still waits
  }
  // Close the job's list first, so a duplicate arriving now starts a new job instead of joining this one.
  if (!(await closeRequests(context, open.jobId, attached.length))) return 'cancelled';
  const state = await job.getState();
  if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
    try {
      await job.remove();
      return 'cancelled';
    } catch {
      // a worker took it meanwhile (it is locked): abort it instead
    }
  }
  if (state !== 'completed' && state !== 'failed') await publishCancel(context, open.jobId);
  return 'cancelled';
}

/** Cancels the open requests of `requester` that `filter` picks (e.g. one chat's); returns how many went. */
export async function cancelOpenRequests(
  context: QueueContext,
  queue: Queue<SeparateJobData>,
  requester: Requester,
  filter: (open: OpenRequest) => boolean = () => true,
): Promise<number> {
  let cancelled = 0;
  for (const open of await listOpenRequests(context, requester)) {
    if (!filter(open)) continue;
    if ((await cancelRequest(context, queue, requester, open)) === 'cancelled') cancelled++;
  }
  return cancelled;
}
