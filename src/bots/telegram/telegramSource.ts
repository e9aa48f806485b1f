import { access, constants } from 'node:fs/promises';
import { isAbsolute } from 'node:path';

import { type Api, GrammyError } from 'grammy';

import { formatBytes } from '../../format/formatBytes.js';
import { StembotError } from '../../pipeline/errors.js';
import type { ResolvedSource, SourceResolver } from '../../queue/delivery.js';
import { type TelegramConnection, telegramLimits } from './telegramApi.js';

/**
 * Turns a Telegram file_id into something the worker can read, at job time: file URLs live about an hour
 * (getFile, platforms §2b), so they are never put in the job. The URL contains the bot token: it is handed to
 * the downloader only and never logged.
 */
export function telegramSourceResolver(api: Api, connection: TelegramConnection): SourceResolver {
  return {
    async resolveSource(fileId: string): Promise<ResolvedSource> {
      let filePath: string | undefined;
      try {
        filePath = (await api.getFile(fileId)).file_path;
      } catch (error) {
        if (error instanceof GrammyError && /file is too big/i.test(error.description)) {
          const limit = telegramLimits(connection).maxDownloadBytes;
          throw new StembotError(
            'INPUT_TOO_LARGE',
            `Telegram lets bots download files up to ${limit ? formatBytes(limit) : 'its limit'}, and this one is bigger. ` +
              'Send a smaller version (an MP3 of it) or a link to the file.',
          );
        }
        if (error instanceof GrammyError && error.error_code === 400) {
          throw new StembotError('INPUT_MISSING', 'Telegram no longer has this file; please send it again.');
        }
        throw error;
      }
      if (!filePath)
        throw new StembotError(
          'INPUT_MISSING',
          'Telegram did not say where this file is; please send it again.',
        );
      // A local Bot API server (--local) answers with a path on its own disk; use it when this machine shares it.
      if (connection.local && isAbsolute(filePath)) {
        const readable = await access(filePath, constants.R_OK).then(
          () => true,
          () => false,
        );
        if (readable) return { kind: 'path', path: filePath };
      }
      const root = connection.apiRoot.replace(/\/+$/, '');
      return { kind: 'url', url: `${root}/file/bot${connection.token}/${filePath.replace(/^\/+/, '')}` };
    },
  };
}
