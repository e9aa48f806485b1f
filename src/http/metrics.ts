import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of a stembot process: Node's defaults plus what the worker records per job
 * (platforms-and-anchors §3: audio seconds, real-time factor, stage timings, output bytes).
 * Each call builds its own registry, so tests and the `all` command can hold several without name clashes.
 */

/** How a job ended, as counted by `stembot_jobs_total`. */
export type JobOutcome = 'completed' | 'failed' | 'retried' | 'cancelled' | 'deduplicated';

export interface StembotMetrics {
  registry: Registry;
  /** Duration of each job's input audio, seconds. */
  audioSeconds: Histogram;
  /** Processing seconds per audio second (below 1 = faster than real time). */
  realTimeFactor: Histogram;
  /** Seconds spent per pipeline stage (`download`, `decode`, `separate`, `encode`, `deliver`, ...). */
  stageSeconds: Histogram<'stage'>;
  /** Bytes of encoded stems written (what delivery has to move). */
  outputBytes: Counter;
  /** Jobs by outcome. */
  jobs: Counter<'outcome'>;
}

export interface StembotMetricsOptions {
  /** Labels on every series, e.g. `{ role: 'worker', device: 'cuda' }`. */
  defaultLabels?: Record<string, string>;
  /** Process/Node metrics (event loop lag, heap, GC); on by default. */
  collectDefault?: boolean;
}

export function createStembotMetrics(options: StembotMetricsOptions = {}): StembotMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.collectDefault ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const audioSeconds = new Histogram({
    name: 'stembot_job_audio_seconds',
    help: 'Duration of the input audio of each separation job, in seconds',
    // Singles sit around 3-4 min; the default input cap is 20 min.
    buckets: [15, 30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800],
    registers,
  });
  const realTimeFactor = new Histogram({
    name: 'stembot_job_realtime_factor',
    help: 'Processing seconds per second of audio (below 1 is faster than real time)',
    // A GPU runs at a few percent of real time, a CPU at several times real time.
    buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    registers,
  });
  const stageSeconds = new Histogram({
    name: 'stembot_stage_seconds',
    help: 'Seconds spent in each stage of a job',
    labelNames: ['stage'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });
  const outputBytes = new Counter({
    name: 'stembot_output_bytes_total',
    help: 'Bytes of encoded stems written',
    registers,
  });
  const jobs = new Counter({
    name: 'stembot_jobs_total',
    help: 'Separation jobs by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  return { registry, audioSeconds, realTimeFactor, stageSeconds, outputBytes, jobs };
}
