import { QueueEvents } from 'bullmq';
import { Bot } from 'grammy';
import type { Logger } from 'pino';

import { StatusMessages } from '../bots/telegram/statusMessages.js';
import { TELEGRAM_COMMANDS, installTelegramHandlers } from '../bots/telegram/telegramBot.js';
import { installAutoRetry, telegramConnection, telegramLimits } from '../bots/telegram/telegramApi.js';
import { type BotEnv, loadBotEnv } from '../config/env.js';
import { createStembotMetrics } from '../http/metrics.js';
import { startStatusServer, type StatusServer } from '../http/statusServer.js';
import { createLogger } from '../log.js';
import { printedHelp } from './args.js';
import { StembotError } from '../pipeline/errors.js';
import { SEPARATE_QUEUE } from '../queue/jobSchema.js';
import { SeparationProducer } from '../queue/producer.js';
import { quotaLimitsOf } from '../queue/quotas.js';
import { subscribeToJobs } from '../queue/progress.js';
import { connectRedis, logRedisOutages } from '../queue/queueContext.js';
import { type Runtime, stopOnSignal } from './worker.js';

export const BOT_USAGE = `Usage: stembot bot

Runs the chat bots configured in the environment: Telegram when TELEGRAM_BOT_TOKEN is set (TELEGRAM_API_ROOT
for a local Bot API server, TELEGRAM_LOCAL_API=1 for its larger limits, TELEGRAM_ADMIN_IDS for /stats).
The bot only queues songs (REDIS_URL) and keeps status messages current; workers (\`stembot worker\`) do the
separation and send the results. \`stembot all\` runs a bot and a worker in one process.`;

export async function botCommand(argv: string[]): Promise<number> {
  if (printedHelp(argv, BOT_USAGE)) return 0;
  const env = loadBotEnv();
  const logger = createLogger(env.LOG_LEVEL, { secrets: [env.TELEGRAM_BOT_TOKEN] });
  const runtime = await startBotRuntime(env, logger, { serveStatus: true });
  return stopOnSignal(logger, () => runtime.stop());
}

/** Says which platform is missing its token; the Discord bot is a later issue, so only Telegram counts. */
export function requireBotToken(env: BotEnv): string {
  if (env.TELEGRAM_BOT_TOKEN) return env.TELEGRAM_BOT_TOKEN;
  throw new StembotError(
    'BAD_ARGUMENT',
    'No chat platform is configured: set TELEGRAM_BOT_TOKEN (from @BotFather) in the environment or .env. ' +
      '(DISCORD_TOKEN is not used yet: the Discord bot is not built.)',
  );
}

/**
 * The Telegram bot in this process: grammY long polling with the auto-retry plugin, the producer it queues
 * with, and the QueueEvents subscription that keeps status messages current. `serveStatus`: also run the
 * /healthz /readyz /metrics server (off under `stembot all`, where the worker's serves the port).
 */
export async function startBotRuntime(
  env: BotEnv,
  logger: Logger,
  options: { readonly serveStatus: boolean },
): Promise<Runtime> {
  const token = requireBotToken(env);
  const connection = telegramConnection(env, token);
  const redis = connectRedis(env.REDIS_URL);
  const eventsConnection = connectRedis(env.REDIS_URL);
  logRedisOutages(logger, [redis], [eventsConnection]);
  const context = { redis, prefix: env.STEMBOT_QUEUE_PREFIX };
  const producer = new SeparationProducer({
    context,
    limits: quotaLimitsOf(env),
  });
  producer.queue.on('error', () => undefined); // Redis outages are logged once above
  const events = new QueueEvents(SEPARATE_QUEUE, {
    connection: eventsConnection,
    prefix: env.STEMBOT_QUEUE_PREFIX,
  });
  events.on('error', () => undefined); // QueueEvents reconnects with its connection

  const bot = new Bot(token, { client: { apiRoot: connection.apiRoot } });
  installAutoRetry(bot.api);
  const statusMessages = new StatusMessages(bot.api, context, producer.queue, logger);
  const unsubscribe = subscribeToJobs(events, {
    onProgress: (jobId, progress) => statusMessages.onProgress(jobId, progress),
    onCompleted: (jobId) => statusMessages.onFinished(jobId),
    onFailed: (jobId) => statusMessages.onFinished(jobId),
  });
  installTelegramHandlers(bot, {
    context,
    producer,
    queue: producer.queue,
    limits: telegramLimits(connection),
    intake: {
      maxInputBytes: env.STEMBOT_MAX_INPUT_MB * 1024 * 1024,
      maxDurationS: env.STEMBOT_MAX_DURATION_S,
      allowPrivateUrls: env.STEMBOT_ALLOW_PRIVATE_URLS,
    },
    adminIds: env.TELEGRAM_ADMIN_IDS,
    logger,
    statusMessages,
  });

  await bot.init(); // getMe: a wrong token or API root fails here, with Telegram's own message
  await publishCommands(bot, env.TELEGRAM_ADMIN_IDS, logger);
  let stopped = false;
  void bot
    .start({
      onStart: (me) =>
        logger.info({ username: me.username, apiRoot: connection.apiRoot }, 'telegram bot ready'),
    })
    .catch((error: unknown) => {
      if (stopped) return;
      logger.fatal({ err: String(error) }, 'Telegram polling stopped');
      process.exit(1);
    });

  let status: StatusServer | null = null;
  if (options.serveStatus) {
    const metrics = createStembotMetrics({ defaultLabels: { role: 'bot' } });
    status = await startStatusServer({
      port: env.STEMBOT_HTTP_PORT,
      readiness: {
        redis: async () => (await redis.ping()) === 'PONG',
        telegram: () => bot.isRunning() || 'not polling',
      },
      metrics: {
        registry: metrics.registry,
        extra: () => producer.queue.exportPrometheusMetrics({ role: 'bot' }),
      },
      logger,
    });
  }
  return {
    async stop() {
      stopped = true;
      await bot.stop(); // confirms the updates handled so far, so a restart does not see them again
      unsubscribe();
      statusMessages.close();
      await status?.close();
      // BullMQ's close waits for Redis; with Redis down that is forever, and a bot must still stop
      const closed = Promise.all([events.close(), producer.close()]).catch(() => undefined);
      const timer = new Promise((done) => setTimeout(done, 3000).unref());
      await Promise.race([closed, timer]);
      redis.disconnect();
      eventsConnection.disconnect();
    },
  };
}

/** The command menu: everyone's, plus /stats in each admin's private chat (the menu does not grant access). */
async function publishCommands(bot: Bot, adminIds: ReadonlySet<string>, logger: Logger): Promise<void> {
  try {
    await bot.api.setMyCommands([...TELEGRAM_COMMANDS]);
    for (const id of adminIds) {
      await bot.api.setMyCommands(
        [...TELEGRAM_COMMANDS, { command: 'stats', description: 'Queue and workers' }],
        {
          scope: { type: 'chat', chat_id: Number(id) },
        },
      );
    }
  } catch (error) {
    logger.warn({ err: String(error) }, 'command menu not published');
  }
}
