import { appendFile, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Deliverer, DeliveryBundle } from '../delivery.js';
import type { ReplyTarget, SeparationRequest } from '../jobSchema.js';

/** The platform name requests use to be answered into the outbox folder. */
export const OUTBOX_PLATFORM = 'outbox';

/**
 * A delivery platform with no chat: results are copied to `<dir>/<chatId>/<requestId>/` (stems, picture,
 * `result.json`), failures written as `failed.json`, and every answer appended as one JSON line to
 * `<dir>/deliveries.jsonl`. For running workers without a bot (a shared folder, scripts) and for tests, where the
 * log shows exactly how many answers went out.
 */
export function outboxDeliverer(dir: string): Deliverer {
  const folderOf = (target: ReplyTarget, request: SeparationRequest) =>
    join(dir, safeName(target.chatId), safeName(request.requestId));
  const log = (entry: Record<string, unknown>) =>
    appendFile(
      join(dir, 'deliveries.jsonl'),
      `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`,
    );

  return {
    async deliver(target, bundle: DeliveryBundle, request) {
      const folder = folderOf(target, request);
      await mkdir(folder, { recursive: true });
      for (const file of bundle.files) await copyFile(file.path, join(folder, safeName(file.name)));
      if (bundle.picture) await copyFile(bundle.picture, join(folder, 'spectrogram.png'));
      await writeFile(
        join(folder, 'result.json'),
        JSON.stringify({ jobId: bundle.jobId, ...bundle.stats }, null, 2),
      );
      await log({ kind: 'result', jobId: bundle.jobId, requestId: request.requestId, chatId: target.chatId });
    },
    async fail(target, reason, request) {
      const folder = folderOf(target, request);
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'failed.json'), JSON.stringify({ reason }, null, 2));
      await log({ kind: 'failed', requestId: request.requestId, chatId: target.chatId, reason });
    },
  };
}

/** One path segment, nothing that climbs out of the folder. */
function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  const cleaned = name.replace(/[\u0000-\u001f/\\]+/g, '_').replace(/^\.+/, '_');
  return cleaned.slice(0, 120) || '_';
}
