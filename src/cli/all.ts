import { loadBotEnv, secretsOf } from '../config/env.js';
import { createLogger } from '../log.js';
import { printedHelp } from './args.js';
import { requireBotToken, startBotRuntime } from './bot.js';
import { startWorkerRuntime, stopOnSignal } from './worker.js';

export const ALL_USAGE = `Usage: stembot all

One machine, one process: the chat bots (as \`stembot bot\`) and one worker (as \`stembot worker\`) on the same
Redis queue (REDIS_URL). The worker's status server (STEMBOT_HTTP_PORT) serves /healthz, /readyz, /metrics and
the signed download links. More workers can join the same queue from other machines at any time.`;

export async function allCommand(argv: string[]): Promise<number> {
  if (printedHelp(argv, ALL_USAGE)) return 0;
  const env = loadBotEnv();
  requireBotToken(env); // before loading models: a missing token is the likelier mistake
  const logger = createLogger(env.LOG_LEVEL, { secrets: secretsOf(env) });
  const worker = await startWorkerRuntime(env, logger);
  const bot = await startBotRuntime(env, logger, { serveStatus: false }).catch(async (error: unknown) => {
    await worker.stop();
    throw error;
  });
  return stopOnSignal(logger, async () => {
    await bot.stop(); // no new songs first, then let the running job finish
    await worker.stop();
  });
}
