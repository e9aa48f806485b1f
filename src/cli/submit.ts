import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { QueueEvents } from 'bullmq';

import { statusLine } from '../bots/core/statusText.js';
import { loadQueueEnv } from '../config/env.js';
import { StembotError } from '../pipeline/errors.js';
import { SEPARATE_QUEUE, separationSettingsSchema } from '../queue/jobSchema.js';
import { OUTBOX_PLATFORM } from '../queue/outbox/outboxDeliverer.js';
import { SeparationProducer } from '../queue/producer.js';
import { quotaLimitsOf } from '../queue/quotas.js';
import { subscribeToJobs } from '../queue/progress.js';
import { connectRedis } from '../queue/queueContext.js';

export const SUBMIT_USAGE = `Usage: stembot submit <http(s) link> [--preset fast|balanced|best] [--stems vocals,music,bleed]
                      [--format flac|wav|wav16|mp3|opus] [--user ID] [--chat ID] [--wait] [--json]

Queues a separation of the song at the link, answered into the outbox folder of the worker
(STEMBOT_OUTBOX_DIR, under <chat>/<request id>/). Per-user limits apply as for chat users. --wait follows the job
until it is done.`;

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: 'string' },
      stems: { type: 'string' },
      format: { type: 'string' },
      user: { type: 'string', default: 'cli' },
      chat: { type: 'string', default: 'cli' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(SUBMIT_USAGE);
    return 0;
  }
  const [link] = positionals;
  if (!link || positionals.length > 1 || !/^https?:\/\//i.test(link)) {
    throw new StembotError('BAD_ARGUMENT', `submit takes one http(s) link\n\n${SUBMIT_USAGE}`);
  }
  const settings = separationSettingsSchema.safeParse({
    preset: values.preset,
    stems: values.stems?.split(',').map((stem) => stem.trim()),
    format: values.format,
  });
  if (!settings.success) {
    const problem = settings.error.issues[0];
    throw new StembotError('BAD_ARGUMENT', `--${String(problem.path[0])}: ${problem.message}`);
  }
  const env = loadQueueEnv();
  const redis = connectRedis(env.REDIS_URL);
  const context = { redis, prefix: env.STEMBOT_QUEUE_PREFIX };
  const producer = new SeparationProducer({
    context,
    limits: quotaLimitsOf(env),
  });
  // QueueEvents blocks on its connection, so it gets its own (and BullMQ leaves closing it to us)
  const eventsConnection = values.wait ? connectRedis(env.REDIS_URL) : undefined;
  const events = eventsConnection
    ? new QueueEvents(SEPARATE_QUEUE, { connection: eventsConnection, prefix: context.prefix })
    : undefined;
  try {
    await events?.waitUntilReady();
    // The status lines a chat would show, on stderr (stdout keeps the result). Subscribed before submitting, so
    // the first report is not missed: until our job's id is known, the latest line of each job is kept.
    const latest = new Map<string, string>();
    let ourJobId: string | undefined;
    const show = (jobId: string, line: string) => {
      if (latest.get(jobId) === line) return;
      latest.set(jobId, line);
      if (jobId === ourJobId) console.error(line);
    };
    const unsubscribe = events
      ? subscribeToJobs(events, { onProgress: (jobId, progress) => show(jobId, statusLine(progress)) })
      : () => undefined;
    try {
      const outcome = await producer.submit({
        source: { kind: 'url', url: link, identity: link },
        settings: settings.data,
        requester: { platform: OUTBOX_PLATFORM, userId: values.user, isAdmin: false },
        replyTo: { platform: OUTBOX_PLATFORM, chatId: values.chat, extra: { submittedBy: randomUUID() } },
      });
      if (outcome.status === 'refused') throw new StembotError('BAD_ARGUMENT', outcome.reason);
      ourJobId = outcome.jobId;
      const seen = latest.get(ourJobId);
      if (seen) console.error(seen);
      let finished: Record<string, unknown> | undefined;
      if (events) {
        const job = await producer.queue.getJob(outcome.jobId);
        try {
          finished = { result: await job!.waitUntilFinished(events) };
        } catch (error) {
          finished = { failed: error instanceof Error ? error.message : String(error) };
        }
      }
      const report = { ...outcome, ...finished };
      console.log(values.json ? JSON.stringify(report) : describe(report));
      return finished && 'failed' in finished ? 1 : 0;
    } finally {
      unsubscribe();
    }
  } finally {
    await events?.close();
    await eventsConnection?.quit();
    await producer.close();
    await redis.quit();
  }
}

function describe(report: Record<string, unknown>): string {
  const head =
    report.status === 'queued'
      ? `queued as job ${String(report.jobId)} (position ${String(report.position)}` +
        (typeof report.etaS === 'number' ? `, starts in about ${Math.ceil(report.etaS)} s)` : ')')
      : `attached to job ${String(report.jobId)} (the same song is already being separated)`;
  if ('failed' in report) return `${head}\nfailed: ${String(report.failed)}`;
  if ('result' in report) return `${head}\ndone: ${JSON.stringify(report.result)}`;
  return head;
}
