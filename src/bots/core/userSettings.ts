/**
 * Each user's saved separation defaults, in Redis, so a song sent without words is separated the way that user
 * last chose. Settings of users who stay away expire.
 */
import { separationSettingsSchema, type SeparationSettings } from '../../queue/jobSchema.js';
import { stembotKey, type QueueContext } from '../../queue/queueContext.js';

/** How long saved settings live after the user last saved or used them: 180 days. */
export const USER_SETTINGS_TTL_S = 180 * 24 * 60 * 60;

/**
 * The user's saved settings, or the defaults when none are saved or what is stored no longer parses (an older
 * schema, a hand edit). Reading refreshes the expiry, so settings in use do not expire.
 */
export async function loadUserSettings(
  context: QueueContext,
  platform: string,
  userId: string,
): Promise<SeparationSettings> {
  const stored = await context.redis.getex(settingsKey(context, platform, userId), 'EX', USER_SETTINGS_TTL_S);
  if (stored !== null) {
    try {
      const parsed = separationSettingsSchema.safeParse(JSON.parse(stored));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: fall through to the defaults
    }
  }
  return separationSettingsSchema.parse({});
}

/** Saves `settings` (checked against the schema, which throws on invalid ones) for 180 days. */
export async function saveUserSettings(
  context: QueueContext,
  platform: string,
  userId: string,
  settings: SeparationSettings,
): Promise<void> {
  const valid = separationSettingsSchema.parse(settings);
  await context.redis.set(
    settingsKey(context, platform, userId),
    JSON.stringify(valid),
    'EX',
    USER_SETTINGS_TTL_S,
  );
}

function settingsKey(context: QueueContext, platform: string, userId: string): string {
  return stembotKey(context, 'settings', platform, userId);
}
