import { z } from 'zod';

import { OUTPUT_FORMATS } from '../pipeline/audio/encode.js';

/** The BullMQ queue every separation goes through (design §4). */
export const SEPARATE_QUEUE = 'separate';

/**
 * Where the song is. The worker fetches it itself, so bot processes never hold audio (design §2).
 * - `url`: anything reachable over http(s): a user's link or a chat attachment URL (Discord CDN).
 * - `platform-file`: a file only the platform can resolve (a Telegram file_id); the worker asks the source
 *   resolver registered for that platform for a download URL at job time, because such URLs expire.
 * `identity` is what makes two requests "the same song" for deduplication: an attachment id, Telegram's
 * file_unique_id, or the URL itself.
 */
export const sourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('url'),
    url: z.string().url(),
    identity: z.string().min(1).max(512),
    fileName: z.string().max(255).optional(),
    sizeBytes: z.number().int().nonnegative().optional(),
  }),
  z.object({
    kind: z.literal('platform-file'),
    platform: z.string().min(1).max(32),
    fileId: z.string().min(1).max(512),
    identity: z.string().min(1).max(512),
    fileName: z.string().max(255).optional(),
    sizeBytes: z.number().int().nonnegative().optional(),
    /** tags the platform already read (Telegram audio title and performer) */
    title: z.string().max(255).optional(),
    performer: z.string().max(255).optional(),
  }),
]);
export type JobSource = z.infer<typeof sourceSchema>;

/**
 * Where the answer goes: opaque to the queue, meaningful to the platform adapter that registered `platform`
 * (chat and message ids, a Discord interaction token, …).
 */
export const replyTargetSchema = z.object({
  platform: z.string().min(1).max(32),
  chatId: z.string().min(1).max(128),
  messageId: z.string().max(128).optional(),
  extra: z.record(z.string(), z.string().max(4096)).optional(),
});
export type ReplyTarget = z.infer<typeof replyTargetSchema>;

export const requesterSchema = z.object({
  platform: z.string().min(1).max(32),
  userId: z.string().min(1).max(128),
  displayName: z.string().max(128).optional(),
  isAdmin: z.boolean().default(false),
});
export type Requester = z.infer<typeof requesterSchema>;

/**
 * The stems a user asks for: the recipe's three finals, and `guide`, a karaoke guide track (the Music stem with the
 * Vocals laid back `guideDb` under their own level, issue 7).
 */
export const finalStemSchema = z.enum(['vocals', 'music', 'bleed', 'guide']);
export type StemChoice = z.infer<typeof finalStemSchema>;

export const separationSettingsSchema = z.object({
  preset: z.enum(['fast', 'balanced', 'best']).default('balanced'),
  stems: z.array(finalStemSchema).min(1).default(['vocals', 'music', 'bleed']),
  /** the `guide` stem: how far under their own level the vocals go, dB */
  guideDb: z.number().min(0).max(40).default(12),
  format: z.enum(OUTPUT_FORMATS as unknown as ['flac', 'wav', 'wav16', 'mp3', 'opus']).default('mp3'),
});
export type SeparationSettings = z.infer<typeof separationSettingsSchema>;

/**
 * How a mix job mixes (issue 7): `auto` runs the rule-based mixer (level balance, compression, masking EQ,
 * reverb); `guide` lays the vocal as it is, `guideDb` below its own level, over the backing (a karaoke guide).
 */
export const mixSettingsSchema = z.object({
  preset: z.enum(['auto', 'guide']).default('auto'),
  guideDb: z.number().min(0).max(40).default(12),
});
export type MixSettings = z.infer<typeof mixSettingsSchema>;

/** A mix job's second input: the singer's recording, laid over the job's `source` (the backing track). */
export const mixRequestSchema = z.object({
  vocal: sourceSchema,
  settings: mixSettingsSchema,
});
export type MixRequest = z.infer<typeof mixRequestSchema>;

/** One request: who asked, for what, and where the answer goes. Several can share one job (dedup). */
export const requestSchema = z.object({
  requestId: z.string().min(1).max(64),
  requester: requesterSchema,
  replyTo: replyTargetSchema,
  requestedAt: z.number().int().positive(),
});
export type SeparationRequest = z.infer<typeof requestSchema>;

export const separateJobSchema = z.object({
  version: z.literal(1),
  source: sourceSchema,
  /** for a mix job only `format` applies */
  settings: separationSettingsSchema,
  /** present on a mix job (`/mix`): `source` is then the backing track */
  mix: mixRequestSchema.optional(),
  /** the request that created the job; requests attached later are kept beside it in Redis */
  request: requestSchema,
});
export type SeparateJobData = z.infer<typeof separateJobSchema>;

/** What a finished job returns (BullMQ returnvalue): shown by the bots, aggregated by stats. */
export const jobResultSchema = z.object({
  durationS: z.number(),
  processingS: z.number(),
  realTimeFactor: z.number(),
  engine: z.string(),
  device: z.string(),
  preset: z.string(),
  cacheHits: z.array(z.string()),
  files: z.array(z.object({ stem: z.string(), name: z.string(), bytes: z.number() })),
  deliveredTo: z.number().int(),
  /** a mix job's decisions, one line each, as the mixer words them */
  mixReport: z.array(z.string()).optional(),
});
export type JobResult = z.infer<typeof jobResultSchema>;
