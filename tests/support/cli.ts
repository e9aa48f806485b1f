import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI (from source, through tsx) in a child process, as a user would run `stembot …`. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** everything written to stderr so far */
  stderr(): string;
  /** resolves when stderr contains `text` (rejects if the process exits first) */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** resolves with the exit code (or signal name) */
  readonly exited: Promise<number | string | null>;
}

/** Starts a long-running CLI command (e.g. `stembot worker`) in a child process. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stdout!.resume();
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve(signal ?? code);
      for (const listener of listeners) listener();
    }),
  );
  return {
    child,
    stderr: () => stderr,
    exited,
    waitFor(text, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (stderr.includes(text)) finish(null);
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(new Error(`process exited before "${text}":\n${stderr}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`no "${text}" within ${timeoutMs} ms:\n${stderr}`)),
          timeoutMs,
        );
        const finish = (error: Error | null) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
  };
}
