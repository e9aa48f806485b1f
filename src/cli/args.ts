import { parseArgs } from 'node:util';

import { StembotError } from '../pipeline/errors.js';

/** Parses a whole-number option, with a message that names the option. */
export function integerOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) {
    throw new StembotError('BAD_ARGUMENT', `--${name} must be a whole number ≥ ${min} (got "${value}")`);
  }
  return parsed;
}

/**
 * For the long-running commands, which take no options: prints `usage` and returns true on --help / -h; any other
 * argument is refused by parseArgs (exit 2).
 */
export function printedHelp(argv: string[], usage: string): boolean {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) console.log(usage);
  return values.help;
}
