import { autoRetry } from '@grammyjs/auto-retry';
import { Api, GrammyError } from 'grammy';

import { TELEGRAM_CLOUD_LIMITS, TELEGRAM_LOCAL_LIMITS, type TelegramLimits } from '../core/planDelivery.js';

/** How this deployment reaches Telegram: the cloud Bot API or a local Bot API server. */
export interface TelegramConnection {
  readonly token: string;
  /** e.g. https://api.telegram.org, or http://telegram-bot-api:8081 for a local server */
  readonly apiRoot: string;
  /** a local Bot API server started with --local: larger limits, files on its disk */
  readonly local: boolean;
}

export const TELEGRAM_CLOUD_API_ROOT = 'https://api.telegram.org';

/**
 * A grammY API client with the auto-retry plugin: flood waits (429 retry_after) and server errors are waited
 * out and retried, as grammY recommends instead of throttling (platforms §2b). Waits longer than a minute are
 * given up on, so a job is not held for an hour by one chat.
 */
export function createTelegramApi(connection: TelegramConnection): Api {
  const api = new Api(connection.token, { apiRoot: connection.apiRoot });
  installAutoRetry(api);
  return api;
}

/** The retry policy of every Telegram client here, the worker's and the bot's (see createTelegramApi). */
export function installAutoRetry(api: Api): void {
  api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 60 }));
}

export function telegramLimits(connection: Pick<TelegramConnection, 'local'>): TelegramLimits {
  return connection.local ? TELEGRAM_LOCAL_LIMITS : TELEGRAM_CLOUD_LIMITS;
}

/**
 * Errors after which sending to this chat cannot succeed however often it is tried: the user blocked the bot,
 * the bot left the group, the chat is gone. Retrying the job would only run the separation again for nothing.
 */
export function isUnreachableChat(error: unknown): boolean {
  if (!(error instanceof GrammyError)) return false;
  if (error.error_code === 403) return true;
  return (
    error.error_code === 400 &&
    /chat not found|group chat was upgraded|not enough rights/i.test(error.description)
  );
}

/** The connection described by the environment (TELEGRAM_API_ROOT, TELEGRAM_LOCAL_API). */
export function telegramConnection(
  env: { readonly TELEGRAM_API_ROOT: string; readonly TELEGRAM_LOCAL_API: boolean },
  token: string,
): TelegramConnection {
  return { token, apiRoot: env.TELEGRAM_API_ROOT.replace(/\/+$/, ''), local: env.TELEGRAM_LOCAL_API };
}
