import {
  type APIActionRowComponent,
  type APIButtonComponent,
  ButtonStyle,
  ComponentType,
  type REST,
  Routes,
} from 'discord.js';

import type { StatusSurface } from '../core/statusBoards.js';
import { statusMessageText } from '../core/statusText.js';
import { CANCEL_BUTTON_PREFIX } from './discordCommands.js';
import { DISCORD_PLATFORM, discordTarget, tokenUsable } from './discordTarget.js';

/** The row with the Cancel button under a status message. */
export function cancelRow(jobId: string): APIActionRowComponent<APIButtonComponent> {
  return {
    type: ComponentType.ActionRow,
    components: [
      {
        type: ComponentType.Button,
        style: ButtonStyle.Secondary,
        label: 'Cancel',
        emoji: { name: '✖️' },
        custom_id: `${CANCEL_BUTTON_PREFIX}${jobId}`,
      },
    ],
  };
}

/**
 * Least time between two edits of one status message. Interaction webhooks share a per-route bucket of about
 * five requests in a few seconds (platforms §2a, rate limits), and the worker's answer must not wait behind
 * status edits.
 */
const DISCORD_EDIT_INTERVAL_MS = 2000;

/** A status edit is not started with less than this left on the token. */
const EDIT_MARGIN_MS = 10_000;

/** The key of a status message in {@link StatusBoards}: its interaction token. */
export function discordBoardKey(interactionToken: string): string {
  return `discord:${interactionToken}`;
}

/**
 * Status messages on Discord: the interaction's original response, edited through the interaction webhook
 * (no bot token needed) while the token lives; after 15 minutes it is left as it was and the worker answers in
 * the channel instead (design §2).
 */
export function discordStatusSurface(rest: REST): StatusSurface {
  return {
    platform: DISCORD_PLATFORM,
    boardOf(replyTo) {
      const target = discordTarget(replyTo);
      if (!tokenUsable(target, Date.now(), EDIT_MARGIN_MS)) return null;
      return { key: discordBoardKey(target.interactionToken), intervalMs: DISCORD_EDIT_INTERVAL_MS };
    },
    render: statusMessageText,
    edit(replyTo, text, jobId) {
      const target = discordTarget(replyTo);
      return rest.patch(Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'), {
        auth: false,
        body: { content: text, components: [cancelRow(jobId)] },
      });
    },
  };
}
