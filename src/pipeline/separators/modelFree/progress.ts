/**
 * Progress reporting and cooperative yielding for the model-free separators, which run long loops on the main
 * thread: they must let the event loop breathe (the bot keeps answering chats) and report fractions 0..1.
 */
export interface StepProgress {
  /** Report how far the current step is (0..1) and yield to the event loop now and then. */
  step(done: number, total: number): Promise<void>;
  /** Move on to the next step (the weight of each step was fixed up front). */
  next(): void;
}

/** Milliseconds of work between yields: short enough for a responsive bot, long enough to cost nothing. */
const YIELD_EVERY_MS = 50;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `weights` are the relative costs of the steps, in order; the overall fraction reported is the weighted sum of
 * the finished steps plus the running step's share. Fractions never go backwards and end at exactly 1.
 */
export function stepProgress(
  weights: readonly number[],
  onProgress?: (fraction: number) => void,
): StepProgress {
  const total = weights.reduce((a, b) => a + b, 0);
  let index = 0;
  let before = 0;
  let last = 0;
  let lastYield = performance.now();
  const emit = (fraction: number): void => {
    const clamped = Math.min(1, Math.max(last, fraction));
    if (clamped === last && clamped !== 0) return;
    last = clamped;
    onProgress?.(clamped);
  };
  return {
    async step(done, count) {
      const share = count > 0 ? Math.min(1, done / count) : 1;
      const now = performance.now();
      if (now - lastYield >= YIELD_EVERY_MS) {
        emit((before + share * (weights[index] ?? 0)) / total);
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    },
    next() {
      before += weights[index] ?? 0;
      index++;
      emit(index >= weights.length ? 1 : before / total);
    },
  };
}
