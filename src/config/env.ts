import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Environment of the pipeline and the CLI, validated once at start. Messages name the variable at fault.
 * Bots and the queue extend this with their own variables.
 */
const positiveNumber = z.coerce.number().positive();

export const pipelineEnvSchema = z.object({
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
  STEMBOT_MODELS_DIR: z.string().min(1).default('./models'),
  /** Longest input accepted, seconds (20 minutes by default: a long DJ mix is a job for a desktop tool). */
  STEMBOT_MAX_DURATION_S: positiveNumber.default(1200),
  /** Most input channels accepted; more are rejected, fewer than that are downmixed to stereo (5.1 = 6). */
  STEMBOT_MAX_CHANNELS: z.coerce.number().int().min(2).max(64).default(6),
  /** Inference device: auto = CUDA when its provider libraries are installed, else CPU. */
  STEMBOT_DEVICE: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /** onnxruntime intra-op threads; 0 = the CPU quota of this process. */
  STEMBOT_THREADS: z.coerce.number().int().min(0).default(0),
  /** Step cache of the recipe (default: $XDG_CACHE_HOME/stembot or ~/.cache/stembot). */
  STEMBOT_CACHE_DIR: z.string().min(1).optional(),
  /** Cache size cap in MiB; least recently used entries are evicted beyond it. */
  STEMBOT_CACHE_MAX_MB: positiveNumber.default(4096),
  /** A mirror for `stembot models pull`: replaces everything before the file name in the catalog URLs. */
  STEMBOT_MODEL_BASE_URL: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type PipelineEnv = z.infer<typeof pipelineEnvSchema>;

export function loadPipelineEnv(env: NodeJS.ProcessEnv = process.env): PipelineEnv {
  return parseEnv(pipelineEnvSchema, env);
}

function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid environment:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

export function cacheDirOf(env: PipelineEnv, processEnv: NodeJS.ProcessEnv = process.env): string {
  if (env.STEMBOT_CACHE_DIR) return env.STEMBOT_CACHE_DIR;
  const base = processEnv.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'stembot');
}

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('0')
  .transform((value) => value === '1' || value === 'true');

/** An empty value (`X=` in a .env file) means "not set", not "set to the empty string". */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);

/** Environment of queue processes (workers and producers), on top of the pipeline's. */
export const queueEnvSchema = pipelineEnvSchema.extend({
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix: several deployments (or test runs) can share one Redis. */
  STEMBOT_QUEUE_PREFIX: z.string().min(1).max(64).default('stembot'),
  /** Scratch space for jobs in flight (downloads, encoded stems); each job's folder is removed when it ends. */
  STEMBOT_WORK_DIR: z.string().min(1).optional(),
  /** Largest input download accepted, MiB. */
  STEMBOT_MAX_INPUT_MB: positiveNumber.default(200),
  /** Whole-download deadline, seconds. */
  STEMBOT_DOWNLOAD_TIMEOUT_S: positiveNumber.default(120),
  /** Let links reach private and loopback addresses: tests and private deployments only. */
  STEMBOT_ALLOW_PRIVATE_URLS: flag,
  /** Engine of the worker: auto = MDX models when installed, else model-free. */
  STEMBOT_ENGINE: z.enum(['auto', 'mdx', 'repet']).default('auto'),
  /** BullMQ lock of a running job, ms: a killed worker's job is taken over after about this long. */
  STEMBOT_LOCK_MS: z.coerce.number().int().min(1000).default(60_000),
  STEMBOT_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  /** Times a job may lose its worker (crash, kill) and be taken over before it fails for good. */
  STEMBOT_MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(2),
  /** Per-user limits, checked before enqueueing; admins are exempt. */
  STEMBOT_MAX_JOBS_IN_FLIGHT: z.coerce.number().int().min(1).default(2),
  STEMBOT_MAX_JOBS_PER_DAY: z.coerce.number().int().min(1).default(30),
  /** Folder of the `outbox` delivery platform (results as files plus a JSON-lines log): local use and tests. */
  STEMBOT_OUTBOX_DIR: z.string().min(1).optional(),
  /** Port of /healthz, /readyz and /metrics (0 = any free port). */
  STEMBOT_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Public origin of the signed download links, e.g. https://stems.example.org */
  STEMBOT_PUBLIC_URL: unsetIfEmpty(z.string().url().optional()),
  /** HMAC key of the signed download links. */
  STEMBOT_LINK_SECRET: unsetIfEmpty(z.string().min(32, 'use at least 32 random characters').optional()),
  /** Where results too big for a chat wait for their signed links (a day at most), served by the worker. */
  STEMBOT_DOWNLOADS_DIR: unsetIfEmpty(z.string().min(1).optional()),
  /** On SIGTERM, how long to let the running job finish before handing it back to the queue, seconds. */
  STEMBOT_SHUTDOWN_GRACE_S: positiveNumber.default(600),
});

export type QueueEnv = z.infer<typeof queueEnvSchema>;

export function loadQueueEnv(env: NodeJS.ProcessEnv = process.env): QueueEnv {
  return parseEnv(queueEnvSchema, env);
}

/** User ids of a platform (Telegram ids, Discord snowflakes): digits, comma- or space-separated. */
const userIds = (platform: string) =>
  z
    .string()
    .default('')
    .refine(
      (text) => /^[\s,]*(\d+[\s,]*)*$/.test(text),
      `a list of numeric ${platform} user ids, e.g. 12345,67890`,
    )
    .transform((text) => new Set(text.split(/[\s,]+/).filter(Boolean)));

/**
 * Environment of the chat bots (`stembot bot`, and the worker's delivery). A platform is on when its token is
 * set; the token is a secret that is never logged.
 */
export const botEnvSchema = queueEnvSchema.extend({
  TELEGRAM_BOT_TOKEN: unsetIfEmpty(
    z
      .string()
      .regex(/^\d+:[\w-]{20,}$/, 'a bot token as @BotFather gives it: <digits>:<30-odd characters>')
      .optional(),
  ),
  /** A local Bot API server, e.g. http://telegram-bot-api:8081; default the cloud API. */
  TELEGRAM_API_ROOT: unsetIfEmpty(z.string().url().default('https://api.telegram.org')),
  /** The API root is a local Bot API server started with --local: 2000 MB uploads, no download limit. */
  TELEGRAM_LOCAL_API: flag,
  /** Who may run /stats (and is exempt from quotas). */
  TELEGRAM_ADMIN_IDS: userIds('Telegram'),
  /** Discord bot token (Developer Portal → Bot → Reset Token). */
  DISCORD_TOKEN: unsetIfEmpty(
    z
      .string()
      .regex(
        /^[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}$/,
        'a bot token as the Developer Portal shows it: three dot-separated parts',
      )
      .optional(),
  ),
  /** Discord's REST API base (a REST proxy, or a fake server in tests); the gateway URL comes from its /gateway/bot. */
  DISCORD_API_URL: unsetIfEmpty(z.string().url().default('https://discord.com/api')),
  /** Discord user ids allowed to run /stats (and exempt from quotas), on top of the server permission. */
  DISCORD_ADMIN_IDS: userIds('Discord'),
});

export type BotEnv = z.infer<typeof botEnvSchema>;

export function loadBotEnv(env: NodeJS.ProcessEnv = process.env): BotEnv {
  return parseEnv(botEnvSchema, env);
}

/** The values no log line may show (the logger replaces them wherever they appear). */
export function secretsOf(env: BotEnv): (string | undefined)[] {
  return [env.TELEGRAM_BOT_TOKEN, env.DISCORD_TOKEN, env.STEMBOT_LINK_SECRET];
}
