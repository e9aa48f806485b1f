import pino, { type Logger } from 'pino';

/**
 * Process logger: JSON lines on stderr (stdout is kept for command output such as `--json`), pretty when stderr is
 * a terminal. Secrets never reach a line: tokens and signed URLs are redacted by key.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const redact = {
    paths: ['token', '*.token', 'url', '*.url', 'headers.authorization'],
    censor: '[redacted]',
  };
  if (process.stderr.isTTY) {
    return pino({
      level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level, redact }, pino.destination(2));
}
