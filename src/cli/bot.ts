import { QueueEvents } from 'bullmq';
import { Client, GatewayIntentBits } from 'discord.js';
import { Bot } from 'grammy';
import type { Logger } from 'pino';

import type { IntakeLimits } from '../bots/core/songLimits.js';
import { StatusBoards } from '../bots/core/statusBoards.js';
import { installDiscordHandlers } from '../bots/discord/discordBot.js';
import { discordRestOptions } from '../bots/discord/discordRest.js';
import { discordStatusSurface } from '../bots/discord/discordStatus.js';
import { telegramStatusSurface } from '../bots/telegram/statusMessages.js';
import { TELEGRAM_COMMANDS, installTelegramHandlers } from '../bots/telegram/telegramBot.js';
import { installAutoRetry, telegramConnection, telegramLimits } from '../bots/telegram/telegramApi.js';
import { type BotEnv, loadBotEnv, secretsOf } from '../config/env.js';
import { createStembotMetrics } from '../http/metrics.js';
import { startStatusServer, type StatusServer } from '../http/statusServer.js';
import { createLogger } from '../log.js';
import { printedHelp } from './args.js';
import { StembotError } from '../pipeline/errors.js';
import { SEPARATE_QUEUE } from '../queue/jobSchema.js';
import { SeparationProducer } from '../queue/producer.js';
import { quotaLimitsOf } from '../queue/quotas.js';
import { subscribeToJobs } from '../queue/progress.js';
import { connectRedis, logRedisOutages, type QueueContext } from '../queue/queueContext.js';
import { type Runtime, stopOnSignal } from './worker.js';

export const BOT_USAGE = `Usage: stembot bot

Runs the chat bots configured in the environment, one or both:
  Telegram when TELEGRAM_BOT_TOKEN is set (TELEGRAM_API_ROOT for a local Bot API server, TELEGRAM_LOCAL_API=1
  for its larger limits, TELEGRAM_ADMIN_IDS for /stats);
  Discord when DISCORD_TOKEN is set (DISCORD_API_URL for a REST proxy, DISCORD_ADMIN_IDS for /stats; run
  \`stembot discord register\` once so Discord shows the commands).
The bots only queue songs (REDIS_URL) and keep status messages current; workers (\`stembot worker\`) do the
separation and send the results. \`stembot all\` runs the bots and a worker in one process.`;

export async function botCommand(argv: string[]): Promise<number> {
  if (printedHelp(argv, BOT_USAGE)) return 0;
  const env = loadBotEnv();
  const logger = createLogger(env.LOG_LEVEL, { secrets: secretsOf(env) });
  const runtime = await startBotRuntime(env, logger, { serveStatus: true });
  return stopOnSignal(logger, () => runtime.stop());
}

/** Refuses to start with no chat platform configured, saying which variables turn one on. */
export function requireBotToken(env: BotEnv): void {
  if (env.TELEGRAM_BOT_TOKEN || env.DISCORD_TOKEN) return;
  throw new StembotError(
    'BAD_ARGUMENT',
    'No chat platform is configured: set TELEGRAM_BOT_TOKEN (from @BotFather) and/or DISCORD_TOKEN (Discord ' +
      'Developer Portal → Bot) in the environment or .env.',
  );
}

/** One chat platform running in this process. */
interface PlatformBot {
  readonly name: string;
  readonly boards: StatusBoards;
  /** true, or why not (for /readyz) */
  ready(): true | string;
  stop(): Promise<void>;
}

/** What the platforms share: Redis, the producer they queue with. */
interface Shared {
  readonly env: BotEnv;
  readonly logger: Logger;
  readonly context: QueueContext;
  readonly producer: SeparationProducer;
}

/**
 * The chat bots in this process: Telegram (grammY long polling with the auto-retry plugin) and Discord
 * (discord.js gateway, Guilds intent only), whichever have tokens; the producer they queue with; the
 * QueueEvents subscription that keeps status messages current. `serveStatus`: also run the /healthz /readyz
 * /metrics server (off under `stembot all`, where the worker's serves the port).
 */
export async function startBotRuntime(
  env: BotEnv,
  logger: Logger,
  options: { readonly serveStatus: boolean },
): Promise<Runtime> {
  requireBotToken(env);
  const redis = connectRedis(env.REDIS_URL);
  const eventsConnection = connectRedis(env.REDIS_URL);
  logRedisOutages(logger, [redis], [eventsConnection]);
  const context = { redis, prefix: env.STEMBOT_QUEUE_PREFIX };
  const producer = new SeparationProducer({ context, limits: quotaLimitsOf(env) });
  producer.queue.on('error', () => undefined); // Redis outages are logged once above
  const events = new QueueEvents(SEPARATE_QUEUE, {
    connection: eventsConnection,
    prefix: env.STEMBOT_QUEUE_PREFIX,
  });
  events.on('error', () => undefined); // QueueEvents reconnects with its connection

  const shared: Shared = { env, logger, context, producer };
  const platforms: PlatformBot[] = [];
  const closeQueue = async () => {
    // BullMQ's close waits for Redis; with Redis down that is forever, and a bot must still stop
    const closed = Promise.all([events.close(), producer.close()]).catch(() => undefined);
    const timer = new Promise((done) => setTimeout(done, 3000).unref());
    await Promise.race([closed, timer]);
    redis.disconnect();
    eventsConnection.disconnect();
  };
  try {
    if (env.TELEGRAM_BOT_TOKEN) platforms.push(await startTelegram(shared, env.TELEGRAM_BOT_TOKEN));
    if (env.DISCORD_TOKEN) platforms.push(await startDiscord(shared, env.DISCORD_TOKEN));
  } catch (error) {
    for (const platform of platforms) await platform.stop().catch(() => undefined);
    await closeQueue();
    throw error;
  }
  const unsubscribe = subscribeToJobs(events, {
    onProgress: (jobId, progress) => platforms.forEach((p) => p.boards.onProgress(jobId, progress)),
    onCompleted: (jobId) => platforms.forEach((p) => p.boards.onFinished(jobId)),
    onFailed: (jobId) => platforms.forEach((p) => p.boards.onFinished(jobId)),
  });

  let status: StatusServer | null = null;
  if (options.serveStatus) {
    const metrics = createStembotMetrics({ defaultLabels: { role: 'bot' } });
    status = await startStatusServer({
      port: env.STEMBOT_HTTP_PORT,
      readiness: {
        redis: async () => (await redis.ping()) === 'PONG',
        ...Object.fromEntries(platforms.map((platform) => [platform.name, () => platform.ready()])),
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
      for (const platform of platforms) await platform.stop();
      unsubscribe();
      await status?.close();
      await closeQueue();
    },
  };
}

async function startTelegram(shared: Shared, token: string): Promise<PlatformBot> {
  const { env, logger, context, producer } = shared;
  const connection = telegramConnection(env, token);
  const bot = new Bot(token, { client: { apiRoot: connection.apiRoot } });
  installAutoRetry(bot.api);
  const boards = new StatusBoards(telegramStatusSurface(bot.api), context, producer.queue, logger);
  installTelegramHandlers(bot, {
    context,
    producer,
    queue: producer.queue,
    limits: telegramLimits(connection),
    intake: intakeOf(env),
    adminIds: env.TELEGRAM_ADMIN_IDS,
    logger,
    statusMessages: boards,
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
  return {
    name: 'telegram',
    boards,
    ready: () => bot.isRunning() || 'not polling',
    async stop() {
      stopped = true;
      await bot.stop(); // confirms the updates handled so far, so a restart does not see them again
      boards.close();
    },
  };
}

/**
 * The Discord bot: the gateway with the Guilds intent only (interactions need no privileged intent; the target
 * of a message command carries its attachments, platforms §2a). discord.js asks DISCORD_API_URL's
 * /gateway/bot where the gateway is, and reconnects by itself.
 */
async function startDiscord(shared: Shared, token: string): Promise<PlatformBot> {
  const { env, logger, context, producer } = shared;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: discordRestOptions({ apiUrl: env.DISCORD_API_URL, token }),
  });
  const boards = new StatusBoards(discordStatusSurface(client.rest), context, producer.queue, logger);
  installDiscordHandlers(client, {
    context,
    producer,
    queue: producer.queue,
    intake: intakeOf(env),
    adminIds: env.DISCORD_ADMIN_IDS,
    logger,
    statusBoards: boards,
  });
  client.on('error', (error) => logger.warn({ err: error.message }, 'Discord client error'));
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  try {
    await client.login(token); // a wrong token fails here, with Discord's own message
    await ready;
  } catch (error) {
    await client.destroy();
    throw error;
  }
  logger.info({ user: client.user?.tag, apiUrl: env.DISCORD_API_URL }, 'discord bot ready');
  return {
    name: 'discord',
    boards,
    ready: () => client.isReady() || 'not connected to the gateway',
    async stop() {
      boards.close();
      await client.destroy();
    },
  };
}

function intakeOf(env: BotEnv): IntakeLimits {
  return {
    maxInputBytes: env.STEMBOT_MAX_INPUT_MB * 1024 * 1024,
    maxDurationS: env.STEMBOT_MAX_DURATION_S,
    allowPrivateUrls: env.STEMBOT_ALLOW_PRIVATE_URLS,
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
