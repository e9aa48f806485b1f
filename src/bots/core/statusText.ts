/**
 * The words of the status message a bot keeps editing while a job runs, and of the stats under the result
 * (design §5 `core/`). Plain text: no parse mode, so nothing in a title can break the markup. One emoji per
 * stage, at the start of the line.
 */
import type { DeliveryBundle } from '../../queue/delivery.js';
import type { JobProgress } from '../../queue/progress.js';

/** Said whenever Redis (the queue) cannot be reached: nothing was queued, nothing is lost by trying later. */
export const QUEUE_UNAVAILABLE =
  'The separation queue is unavailable right now, so nothing was queued. Please try again in a few minutes.';

type Stage = JobProgress['stage'];

const STAGES: Readonly<
  Record<Stage, { readonly emoji: string; readonly label: string; readonly pct: boolean }>
> = {
  queued: { emoji: '⏳', label: 'In queue', pct: false },
  download: { emoji: '🎧', label: 'Downloading…', pct: true },
  decode: { emoji: '🎧', label: 'Reading the audio…', pct: true },
  separate: { emoji: '✂️', label: 'Separating…', pct: true },
  mix: { emoji: '🎚️', label: 'Mixing…', pct: true },
  encode: { emoji: '📦', label: 'Encoding…', pct: false },
  deliver: { emoji: '📤', label: 'Sending…', pct: false },
};

/**
 * The status message: the song, where its job is, and the settings it runs with (one line each; `settings` as
 * `describeJob` words them).
 */
export function statusMessageText(title: string, settings: string, progress: JobProgress): string {
  return [`🎵 ${title}`, statusLine(progress, { barWidth: 10 }), settings].join('\n');
}

export interface StatusLineOptions {
  /** cells of a {@link progressBar} put before the percentage; 0 or absent: no bar */
  readonly barWidth?: number;
}

/**
 * One line for the status message, e.g. "⏳ In queue: position 3, starts in about 2 min",
 * "✂️ Separating… 42 % · about 1 min left", "📦 Encoding…". `pct` is of the whole job, as the worker reports it.
 */
export function statusLine(progress: JobProgress, options: StatusLineOptions = {}): string {
  const stage = STAGES[progress.stage];
  if (progress.stage === 'queued') {
    const parts: string[] = [];
    if (progress.queuePosition > 0) parts.push(`position ${progress.queuePosition}`);
    if (progress.etaS !== null) {
      parts.push(progress.etaS < 1 ? 'starts soon' : `starts in about ${formatDuration(progress.etaS)}`);
    }
    return parts.length > 0
      ? `${stage.emoji} ${stage.label}: ${parts.join(', ')}`
      : `${stage.emoji} ${stage.label}`;
  }
  let line = `${stage.emoji} ${stage.label}`;
  if (stage.pct) {
    const pct = clampPct(progress.pct);
    const bar = options.barWidth ? `${progressBar(pct, options.barWidth)} ` : '';
    line += ` ${bar}${Math.floor(pct)} %`;
  }
  if (progress.etaS !== null && progress.etaS >= 1) line += ` · about ${formatDuration(progress.etaS)} left`;
  return line;
}

/**
 * A rough duration for people, in seconds in: "0 s", "45 s", "2 min", "1 h", "1 h 5 min". Under a minute it
 * counts seconds, then whole minutes (rounded), then hours and minutes. Negative becomes "0 s"; NaN or ±Infinity
 * "a while".
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'a while';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A song length as a clock shows it, seconds in: "0:07", "4:05", "1:02:05" (rounded to the second). */
export function formatClock(seconds: number): string {
  const total = Number.isFinite(seconds) ? Math.max(0, Math.round(seconds)) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * `width` cells of block characters for `pct` (0..100, clamped): full cells "█", one partial cell in eighths,
 * the rest "░", so the line does not change length as it fills. E.g. progressBar(50, 4) = "██░░".
 */
export function progressBar(pct: number, width: number): string {
  const cells = Math.max(0, Math.floor(width));
  const eighths = Math.round((clampPct(pct) / 100) * cells * 8);
  const full = Math.floor(eighths / 8);
  const partial = BLOCKS[eighths % 8];
  const used = full + (partial ? 1 : 0);
  return '█'.repeat(full) + partial + '░'.repeat(cells - used);
}

/**
 * The stats under a result, one fact a line:
 * "Engine: mdx on cuda · preset best", "4:05 of audio in 38 s (0.16× real time)", "From cache: music, vocals"
 * (only when some steps came from the cache); a mix's decisions below, after a blank line.
 */
export function statsBlock(stats: DeliveryBundle['stats']): string {
  const lines = [
    `Engine: ${stats.engine} on ${stats.device} · preset ${stats.preset}`,
    `${formatClock(stats.durationS)} of audio in ${formatDuration(stats.processingS)} (${formatFactor(stats.realTimeFactor)}× real time)`,
  ];
  if (stats.cacheHits.length > 0) lines.push(`From cache: ${stats.cacheHits.join(', ')}`);
  if (stats.mixReport && stats.mixReport.length > 0) lines.push('', ...stats.mixReport);
  return lines.join('\n');
}

/** Two significant digits below 10 ("0.16", "2.5"), whole numbers above. */
function formatFactor(factor: number): string {
  if (!Number.isFinite(factor) || factor <= 0) return '0';
  if (factor >= 10) return String(Math.round(factor));
  return String(Number(factor.toPrecision(2)));
}

function clampPct(pct: number): number {
  if (Number.isNaN(pct)) return 0;
  return Math.min(100, Math.max(0, pct));
}
