/**
 * What the chat-bot end-to-end tests share: `stembot bot` / `stembot worker` processes on a test prefix with the
 * model-free engine and short locks, stopped after the file, and a local server for songs sent as links.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { type CliProcess, startCli } from './cli.js';
import { testSong } from './signals.js';
import { TEST_REDIS_URL } from './testRedis.js';

export interface ChatBotHarness {
  /** scratch folder of this test file (caches, work dirs, downloads) */
  readonly dir: string;
  /** base URL of the song server: `${songBase}/linked.wav` is a 5 s WAV */
  readonly songBase: string;
  /** starts `stembot <command>` with the test defaults, then the platform's and the test's variables */
  start(command: 'bot' | 'worker' | 'all', prefix: string, env: NodeJS.ProcessEnv): CliProcess;
  /** remembers a process started some other way, so `close` stops it */
  track(child: CliProcess): CliProcess;
  /** stops every process, the song server, and removes the folder */
  close(): Promise<void>;
}

/** SIGTERM (if still running), then waits for the exit. */
export async function stopCli(child: CliProcess): Promise<void> {
  if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGTERM');
  await child.exited;
}

export async function startChatBotHarness(name: string): Promise<ChatBotHarness> {
  const dir = await mkdtemp(join(tmpdir(), `stembot-${name}-`));
  const songs = new Map([['/linked.wav', Buffer.from(encodeWav(testSong(5 * 44100, 11), 'f32'))]]);
  const server = createServer((req, res) => {
    const song = songs.get(req.url ?? '');
    if (!song) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': song.length }).end(song);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const processes: CliProcess[] = [];
  const track = (child: CliProcess) => {
    processes.push(child);
    return child;
  };
  return {
    dir,
    songBase: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    track,
    start(command, prefix, env) {
      return track(
        startCli([command], {
          REDIS_URL: TEST_REDIS_URL,
          STEMBOT_QUEUE_PREFIX: prefix,
          STEMBOT_ENGINE: 'repet',
          STEMBOT_ALLOW_PRIVATE_URLS: '1',
          STEMBOT_CACHE_DIR: join(dir, 'cache'),
          STEMBOT_WORK_DIR: join(dir, `work-${processes.length}`),
          STEMBOT_LOCK_MS: '4000',
          STEMBOT_STALLED_INTERVAL_MS: '1000',
          STEMBOT_HTTP_PORT: '0',
          LOG_LEVEL: 'debug',
          ...env,
        }),
      );
    },
    async close() {
      await Promise.all(processes.map(stopCli));
      await new Promise((done) => server.close(done));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
