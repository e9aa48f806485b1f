import type { Logger } from 'pino';

import { mixSettingsSchema, type SeparationSettings } from '../../queue/jobSchema.js';
import type { SeparationProducer, SubmitRequest } from '../../queue/producer.js';
import { songTitle } from '../../queue/songTitle.js';
import { describeJob } from './settingsNames.js';
import { QUEUE_UNAVAILABLE, statusMessageText } from './statusText.js';

const MIX_DEFAULTS = mixSettingsSchema.parse({});

/** What a bot shows after queueing: the status text with the job to cancel, or why nothing was queued. */
export type ChatSubmitOutcome =
  | { readonly accepted: true; readonly jobId: string; readonly text: string }
  | { readonly accepted: false; readonly text: string };

/**
 * Queues a song for a chat and words the answer the same way on every platform: the queue position and ETA
 * (or "someone asked for this song already"), a quota refusal, or "queue unavailable" when Redis does not
 * answer within `timeoutMs` (the submit runs on and may still queue the job: it cannot be taken back halfway).
 */
export async function submitForChat(
  producer: SeparationProducer,
  request: SubmitRequest & { readonly settings: SeparationSettings },
  options: { readonly logger: Logger; readonly timeoutMs?: number },
): Promise<ChatSubmitOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the queue within ${timeoutMs} ms`)), timeoutMs);
  });
  let outcome;
  try {
    outcome = await Promise.race([producer.submit(request), timeout]);
  } catch (error) {
    options.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'submit failed');
    return { accepted: false, text: `⚠️ ${QUEUE_UNAVAILABLE}` };
  } finally {
    clearTimeout(timer);
  }
  if (outcome.status === 'refused') return { accepted: false, text: `❌ ${outcome.reason}` };
  const title = songTitle(request.source);
  const jobLike = {
    settings: request.settings,
    ...(request.mix ? { mix: { settings: { ...MIX_DEFAULTS, ...request.mix.settings } } } : {}),
  };
  const text =
    outcome.status === 'queued'
      ? statusMessageText(title, describeJob(jobLike), {
          stage: 'queued',
          pct: 0,
          queuePosition: outcome.position,
          etaS: outcome.etaS,
        })
      : `🎵 ${title}\n⏳ Someone asked for this ${request.mix ? 'mix' : 'song'} with the same settings already: you will get it at the same time.`;
  return { accepted: true, jobId: outcome.jobId, text };
}
