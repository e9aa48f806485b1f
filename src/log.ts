import pino, { type Logger } from 'pino';

export interface LoggerOptions {
  /**
   * Strings that must never reach a line, whatever field or message carries them: bot tokens (Telegram file
   * URLs contain the token, and an error message may quote a URL). Replaced by "[secret]".
   */
  readonly secrets?: readonly (string | undefined)[];
}

/**
 * Process logger: JSON lines on stderr (stdout is kept for command output such as `--json`), pretty when stderr is
 * a terminal. Secrets never reach a line: tokens and signed URLs are redacted by key, and the given secrets
 * wherever they appear.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  const redact = {
    paths: ['token', '*.token', 'url', '*.url', 'headers.authorization'],
    censor: '[redacted]',
  };
  // Short strings are not secrets worth hiding, and would garble unrelated text.
  const secrets = (options.secrets ?? []).filter(
    (secret): secret is string => !!secret && secret.length >= 8,
  );
  const hooks = secrets.length
    ? {
        streamWrite: (line: string) =>
          secrets.reduce((text, secret) => text.replaceAll(secret, '[secret]'), line),
      }
    : undefined;
  if (process.stderr.isTTY) {
    return pino({
      level,
      redact,
      ...hooks,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level, redact, ...hooks }, pino.destination(2));
}
