import { DiscordAPIError, type REST } from 'discord.js';
import { z } from 'zod';

import { StembotError } from '../../pipeline/errors.js';
import type { ResolvedSource, SourceResolver } from '../../queue/delivery.js';

/** A URL is refreshed when it has less than this left: the download itself takes a while. */
const REFRESH_BEFORE_MS = 10 * 60_000;

const refreshedSchema = z.object({
  refreshed_urls: z.array(z.object({ original: z.string(), refreshed: z.string().url() })),
});

/**
 * When a signed Discord CDN URL stops working: its `ex` parameter, hexadecimal Unix seconds
 * (platforms §2a, reference.mdx#signed-attachment-cdn-urls). Null for a URL without one (never expires).
 */
export function attachmentUrlExpiry(url: string): number | null {
  if (!URL.canParse(url)) return null;
  const ex = new URL(url).searchParams.get('ex');
  return ex !== null && /^[0-9a-f]{1,12}$/i.test(ex) ? parseInt(ex, 16) * 1000 : null;
}

/**
 * Turns a Discord attachment URL (the job's platform file) into one that works now. Attachment URLs are signed
 * and expire, typically a day after they were handed out; a job that waited longer gets a fresh URL from
 * `POST /attachments/refresh-urls` with the bot token, so a long queue loses no song (design §2).
 */
export function discordSourceResolver(rest: REST): SourceResolver {
  return {
    async resolveSource(url: string): Promise<ResolvedSource> {
      const expiry = attachmentUrlExpiry(url);
      if (expiry === null || expiry - Date.now() > REFRESH_BEFORE_MS) return { kind: 'url', url };
      let answer: unknown;
      try {
        answer = await rest.post('/attachments/refresh-urls', { body: { attachment_urls: [url] } });
      } catch (error) {
        if (error instanceof DiscordAPIError && error.status < 500 && error.status !== 429) {
          throw new StembotError(
            'INPUT_MISSING',
            'Discord no longer has this file (the message may have been deleted); please send it again.',
          );
        }
        throw error; // Discord unavailable: the job is retried
      }
      const refreshed = refreshedSchema.parse(answer).refreshed_urls[0]?.refreshed;
      if (!refreshed)
        throw new StembotError(
          'INPUT_MISSING',
          'Discord did not renew the link to this file; please send it again.',
        );
      return { kind: 'url', url: refreshed };
    },
  };
}
