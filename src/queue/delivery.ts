import type {
  JobResult,
  ReplyTarget,
  SeparationRequest,
  SeparationSettings,
  StemChoice,
} from './jobSchema.js';

/** What a delivered file is: one of the stems a separation was asked for, or a mix job's mix. */
export type ResultStem = StemChoice | 'mix';

/** One stem file ready to send. */
export interface DeliveredFile {
  readonly stem: ResultStem;
  /** absolute path on the worker; valid until `deliver` returns */
  readonly path: string;
  /** file name to show, e.g. "My Song - Vocals.mp3" */
  readonly name: string;
  readonly bytes: number;
}

/** Everything a platform adapter needs to answer one request. */
export interface DeliveryBundle {
  readonly jobId: string;
  /** the song's name, for captions and titles */
  readonly title: string;
  readonly settings: SeparationSettings;
  readonly files: readonly DeliveredFile[];
  /** the spectrogram picture (PNG), if drawn */
  readonly picture: string | null;
  /** the artist, when the platform or the file's tags said (Telegram's audio performer) */
  readonly performer: string | null;
  readonly stats: Omit<JobResult, 'deliveredTo'>;
}

/**
 * How results reach a chat. The queue knows no platform: each adapter registers one Deliverer under its platform
 * name, and the worker calls the one named by the request's reply target. A Deliverer throws to say "not
 * delivered" (the worker then retries the job); it must not throw after the user was answered.
 */
export interface Deliverer {
  deliver(target: ReplyTarget, bundle: DeliveryBundle, request: SeparationRequest): Promise<void>;
  /** tells the user the job failed for good; `reason` is written for them */
  fail(target: ReplyTarget, reason: string, request: SeparationRequest): Promise<void>;
}

/**
 * Where a platform file can be read: a URL on the platform's own API (trusted: it is the operator's configured
 * API root, possibly a local Bot API server on a private address), or a path on this machine (a local Bot API
 * server that shares its disk).
 */
export type ResolvedSource =
  { readonly kind: 'url'; readonly url: string } | { readonly kind: 'path'; readonly path: string };

/** Turns a platform file reference (a Telegram file_id) into something readable, at job time (URLs expire). */
export interface SourceResolver {
  resolveSource(fileId: string): Promise<ResolvedSource>;
}

export interface PlatformAdapters {
  readonly deliverers: ReadonlyMap<string, Deliverer>;
  readonly resolvers: ReadonlyMap<string, SourceResolver>;
}
