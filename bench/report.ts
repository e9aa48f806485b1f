/**
 * The shape every benchmark figure takes in the JSON report: what was measured, the figure performance-notes.md
 * gives for it (null when it gives none) and measured/reference, with which direction is better spelled out.
 */
export type Better = 'higher' | 'lower';

export interface Figure {
  readonly measured: number;
  readonly unit: string;
  /** 'higher' for throughputs (frames/s, GFLOP/s), 'lower' for times: tells how to read ratioToReference. */
  readonly better: Better;
  readonly reference: number | null;
  /** measured / reference; > 1 is faster than the reference when better is 'higher', slower when 'lower'. */
  readonly ratioToReference: number | null;
  readonly referenceSource?: string;
  readonly note?: string;
}

export interface FigureOptions {
  readonly reference?: number | null;
  readonly referenceSource?: string;
  readonly note?: string;
  /** significant digits kept in measured and ratioToReference (default 4) */
  readonly digits?: number;
}

export function figure(measured: number, unit: string, better: Better, options: FigureOptions = {}): Figure {
  const digits = options.digits ?? 4;
  const reference = options.reference ?? null;
  return {
    measured: round(measured, digits),
    unit,
    better,
    reference,
    ratioToReference: reference === null ? null : round(measured / reference, digits),
    ...(options.referenceSource === undefined ? {} : { referenceSource: options.referenceSource }),
    ...(options.note === undefined ? {} : { note: options.note }),
  };
}

/** Rounds to `digits` significant digits, so the JSON stays readable (no 0.30000000000000004). */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function min(values: readonly number[]): number {
  return values.reduce((best, value) => Math.min(best, value), Number.POSITIVE_INFINITY);
}

export function max(values: readonly number[]): number {
  return values.reduce((best, value) => Math.max(best, value), Number.NEGATIVE_INFINITY);
}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Progress and logs go to stderr: stdout carries only the JSON report. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export const PERFORMANCE_NOTES = 'shared/spec/performance-notes.md';
