import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Stereo } from '../audio/stereo.js';
import { StembotError } from '../errors.js';
import type { MdxGeometry } from './geometry.js';
import type {
  ExtractRequestOptions,
  ExtractStats,
  InferenceThreadConfig,
  LoadedModelInfo,
  ThreadReply,
  ThreadRequest,
} from './inferenceProtocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  readonly kind: ThreadRequest['kind'];
  resolve(reply: ThreadReply): void;
  reject(error: Error): void;
  onProgress?: (done: number, total: number) => void;
  /** resolves once the request is answered either way */
  readonly settled: Promise<void>;
}

/**
 * The process-side handle of the inference thread (inferenceThread.ts). Audio is copied into the thread, so the
 * caller's buffers stay usable; results come back by transfer.
 */
export class InferenceThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: Error | undefined;

  constructor(config: InferenceThreadConfig) {
    this.worker = startThread(config);
    this.worker.on('message', (reply: ThreadReply) => this.receive(reply));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`inference thread exited with code ${code}`)));
  }

  async loadModel(modelPath: string, geometry: MdxGeometry): Promise<LoadedModelInfo> {
    const reply = await this.request({ kind: 'load', modelPath, geometry });
    if (reply.kind !== 'loaded') throw new Error(`unexpected reply ${reply.kind}`);
    return { geometry: reply.geometry, provider: reply.provider, seconds: reply.seconds };
  }

  /** spec §B.6 Extract (compensated) of `audio` by a loaded model. */
  async extract(
    modelPath: string,
    audio: Stereo,
    options: ExtractRequestOptions,
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ audio: Stereo; stats: ExtractStats }> {
    const left = audio.left.slice();
    const right = audio.right.slice();
    const reply = await this.request(
      { kind: 'extract', modelPath, left, right, options },
      [left.buffer, right.buffer],
      onProgress,
    );
    if (reply.kind !== 'extracted') throw new Error(`unexpected reply ${reply.kind}`);
    return { audio: { left: reply.left, right: reply.right }, stats: reply.stats };
  }

  async releaseModel(modelPath: string): Promise<void> {
    await this.request({ kind: 'release', modelPath });
  }

  /**
   * Ends the thread. Model loads still running are waited for first: terminating the thread while onnxruntime
   * creates a session aborts the whole process (seen with two damaged models loading at once).
   */
  async close(): Promise<void> {
    if (this.exited) return;
    const loads = [...this.pending.values()].filter((pending) => pending.kind === 'load');
    await Promise.allSettled(loads.map((pending) => pending.settled));
    await this.worker.terminate();
  }

  private request(
    message: DistributiveOmit<ThreadRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
    onProgress?: (done: number, total: number) => void,
  ): Promise<ThreadReply> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    let settle!: () => void;
    const settled = new Promise<void>((done) => (settle = done));
    return new Promise<ThreadReply>((resolve, reject) => {
      this.pending.set(id, { kind: message.kind, resolve, reject, onProgress, settled });
      this.worker.postMessage({ ...message, id }, transfer);
    }).finally(settle);
  }

  private receive(reply: ThreadReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === 'progress') {
      pending.onProgress?.(reply.done, reply.total);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.kind === 'failed') {
      pending.reject(reply.code ? new StembotError(reply.code, reply.message) : new Error(reply.message));
    } else {
      pending.resolve(reply);
    }
  }

  private failAll(error: Error): void {
    this.exited ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/**
 * Compiled runs load dist/…/inferenceThread.js. Runs from source (tests, `node --import tsx`) load the .ts file,
 * which needs tsx registered inside the new thread too: Node 20 does not carry `--import` hooks into workers.
 */
function startThread(config: InferenceThreadConfig): Worker {
  const extension = extname(new URL(import.meta.url).pathname);
  const entry = new URL(`./inferenceThread${extension}`, import.meta.url);
  if (extension !== '.ts') return new Worker(entry, { workerData: config });
  const bootstrap = `(async () => {
    const { register } = await import('tsx/esm/api');
    register();
    await import(${JSON.stringify(entry.href)});
  })()`;
  return new Worker(bootstrap, { eval: true, workerData: config });
}
