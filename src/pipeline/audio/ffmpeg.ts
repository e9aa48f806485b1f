import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

import { StembotError } from '../errors.js';

/**
 * A thin adapter over the ffmpeg and ffprobe binaries: spawned directly with argument arrays (never a shell),
 * output through pipes. Replaces fluent-ffmpeg, which is archived upstream.
 */
export interface FfmpegTools {
  readonly ffmpeg: string;
  readonly ffprobe: string;
}

/** FFMPEG_PATH / FFPROBE_PATH, else the ffprobe beside FFMPEG_PATH, else the names looked up on PATH. */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegTools {
  const ffmpegPath = env.FFMPEG_PATH?.trim() || undefined;
  const ffprobePath = env.FFPROBE_PATH?.trim() || undefined;
  return {
    ffmpeg: ffmpegPath ?? 'ffmpeg',
    ffprobe: ffprobePath ?? (ffmpegPath ? siblingProbe(ffmpegPath) : 'ffprobe'),
  };
}

/** '/opt/ff/bin/ffmpeg-5.1' → '/opt/ff/bin/ffprobe-5.1'; a bare name stays a PATH lookup. */
function siblingProbe(ffmpegPath: string): string {
  const name = basename(ffmpegPath);
  const probeName = /ffmpeg/i.test(name) ? name.replace(/ffmpeg/i, 'ffprobe') : 'ffprobe';
  return name === ffmpegPath ? probeName : join(dirname(ffmpegPath), probeName);
}

export interface RunOptions {
  /** Bytes or a stream for the tool's standard input; without it stdin is closed. */
  readonly stdin?: Uint8Array | Readable;
  /** Aborting kills the tool; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface StreamOptions extends RunOptions {
  /** Called for each stdout chunk, in order. Return false to stop the tool early (it is killed). */
  readonly onStdout: (chunk: Buffer) => boolean | void;
}

export interface StreamResult {
  /** The last few KB of stderr: enough for the error, bounded whatever the tool prints. */
  readonly stderr: string;
  /** Exit code, null when killed by a signal (including a stop asked by onStdout). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when onStdout asked to stop. */
  readonly stopped: boolean;
}

export interface RunResult extends StreamResult {
  readonly stdout: Buffer;
}

const STDERR_KEEP_CHARS = 4096;

/** Run a tool and hand its stdout over chunk by chunk, so large outputs are never held twice. */
export function streamTool(
  path: string,
  args: readonly string[],
  options: StreamOptions,
): Promise<StreamResult> {
  const { stdin, signal, onStdout } = options;
  return new Promise<StreamResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(path, args, { stdio: 'pipe', windowsHide: true });
    let stderr = '';
    let stopped = false;
    let failure: { error: unknown } | undefined;
    let settled = false;

    const fail = (error: unknown): void => {
      failure ??= { error };
      child.kill('SIGKILL');
    };
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });

    const settle = (result: StreamResult | undefined, error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (result) resolve(result);
      else reject(error);
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (stopped || failure) return;
      try {
        if (onStdout(chunk) === false) {
          stopped = true;
          child.kill('SIGKILL');
        }
      } catch (error) {
        fail(error);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      if (stderr.length > 2 * STDERR_KEEP_CHARS) stderr = stderr.slice(-STDERR_KEEP_CHARS);
    });

    // The tool may exit before reading all its input (an error, a kill): its exit code tells, not EPIPE.
    child.stdin.on('error', () => {});
    if (stdin === undefined || stdin instanceof Uint8Array) {
      child.stdin.end(stdin);
    } else {
      stdin.on('error', fail);
      stdin.pipe(child.stdin);
    }

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        // The spawn itself failed; 'close' may not follow.
        settle(
          undefined,
          error.code === 'ENOENT' || error.code === 'EACCES' ? missingTool(path, error) : error,
        );
      } else {
        fail(error);
      }
    });
    child.on('close', (code, exitSignal) => {
      if (stdin && !(stdin instanceof Uint8Array)) stdin.unpipe(child.stdin);
      if (failure) settle(undefined, failure.error);
      else settle({ stderr: stderr.slice(-STDERR_KEEP_CHARS), code, signal: exitSignal, stopped });
    });
  });
}

/** Run a tool to the end and collect its whole stdout (for small outputs such as ffprobe's JSON). */
export async function runTool(
  path: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const chunks: Buffer[] = [];
  const result = await streamTool(path, args, { ...options, onStdout: (chunk) => void chunks.push(chunk) });
  return { ...result, stdout: Buffer.concat(chunks) };
}

function missingTool(path: string, cause: Error): StembotError {
  const name = /ffprobe/i.test(basename(path)) ? 'ffprobe' : 'ffmpeg';
  const error = new StembotError(
    'FFMPEG_MISSING',
    `The audio tool ${name} could not be started (looked for "${path}"). ` +
      'Install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH (and FFPROBE_PATH) to where it is.',
  );
  error.cause = cause;
  return error;
}

/** The last non-empty stderr line, for logs and error causes (not for users: it may name server paths). */
export function lastStderrLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.at(-1)?.trim() ?? '';
}

/** ffmpeg's reading of a path is by URL: 'file:' keeps a name like "concat:…" or "pipe:0" a plain file. */
export function fileUrlArg(path: string): string {
  return `file:${path}`;
}
