/**
 * Entry point of the inference worker thread. It owns the ONNX sessions (kept loaded between jobs) and does all
 * the heavy work of an extraction — STFT, onnxruntime, iSTFT — so that `session.run()`, which blocks its thread for
 * seconds (performance notes), never blocks the thread that talks to chat platforms or renews queue locks.
 * Requests are served one at a time: one session runs one inference at a time anyway.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRealFft } from '../dsp/fft.js';
import { MdxStft } from '../dsp/stft.js';
import { isStembotError } from '../errors.js';
import { countModelRuns } from './demix.js';
import { extract, srsLength } from './extract.js';
import { segmentPlan } from './geometry.js';
import type { InferenceThreadConfig, ThreadReply, ThreadRequest } from './inferenceProtocol.js';
import { type OnnxModel, openOnnxModel } from './onnxModel.js';

const config = workerData as InferenceThreadConfig;
const port = parentPort;
if (!port) throw new Error('inferenceThread.ts must run in a worker thread');

const models = new Map<string, OnnxModel>();
const stfts = new Map<string, MdxStft>();
let queue: Promise<void> = Promise.resolve();

port.on('message', (request: ThreadRequest) => {
  queue = queue.then(() => serve(request));
});

function reply(message: ThreadReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function serve(request: ThreadRequest): Promise<void> {
  try {
    switch (request.kind) {
      case 'load': {
        const started = performance.now();
        let model = models.get(request.modelPath);
        if (!model) {
          model = await openOnnxModel(request.modelPath, request.geometry, config);
          models.set(request.modelPath, model);
        }
        const seconds = (performance.now() - started) / 1000;
        reply({
          kind: 'loaded',
          id: request.id,
          geometry: model.geometry,
          provider: model.provider,
          seconds,
        });
        return;
      }
      case 'extract': {
        const model = models.get(request.modelPath);
        if (!model) throw new Error(`model ${request.modelPath} is not loaded in the inference thread`);
        const stft = await stftFor(model);
        const { options } = request;
        const passLength = options.srs ? srsLength(request.left.length) : request.left.length;
        const total = countModelRuns(passLength, segmentPlan(model.geometry).gen, options);
        let done = 0;
        let modelSeconds = 0;
        const timed = {
          geometry: model.geometry,
          async run(tensor: Float32Array, batch: number) {
            const started = performance.now();
            const out = await model.run(tensor, batch);
            modelSeconds += (performance.now() - started) / 1000;
            return out;
          },
        };
        const started = performance.now();
        const onModelRun = (): void => {
          done++;
          reply({ kind: 'progress', id: request.id, done, total });
        };
        const audio = await extract({ left: request.left, right: request.right }, timed, stft, {
          ...options,
          onModelRun,
        });
        const seconds = (performance.now() - started) / 1000;
        reply(
          { kind: 'extracted', id: request.id, ...audio, stats: { modelRuns: done, seconds, modelSeconds } },
          [audio.left.buffer as ArrayBuffer, audio.right.buffer as ArrayBuffer],
        );
        return;
      }
      case 'release': {
        const model = models.get(request.modelPath);
        models.delete(request.modelPath);
        await model?.release();
        reply({ kind: 'released', id: request.id });
        return;
      }
    }
  } catch (error) {
    const code = isStembotError(error) ? error.code : undefined;
    reply({ kind: 'failed', id: request.id, code, message: (error as Error).message ?? String(error) });
  }
}

async function stftFor(model: OnnxModel): Promise<MdxStft> {
  const { nFft, dimF, dimT } = model.geometry;
  const key = `${nFft}/${dimF}/${dimT}`;
  let stft = stfts.get(key);
  if (!stft) {
    stft = new MdxStft(await createRealFft(nFft), model.geometry);
    stfts.set(key, stft);
  }
  return stft;
}
