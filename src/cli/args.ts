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
