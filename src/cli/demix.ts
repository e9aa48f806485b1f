import { mkdir } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelineEnv } from '../config/env.js';
import { decodeAudio } from '../pipeline/audio/decode.js';
import { encodeAudio } from '../pipeline/audio/encode.js';
import { locateFfmpeg } from '../pipeline/audio/ffmpeg.js';
import { stereoDuration } from '../pipeline/audio/stereo.js';
import { StembotError } from '../pipeline/errors.js';
import { DEFAULT_CHUNK_SIZE } from '../pipeline/mdx/demix.js';
import { InferenceThread } from '../pipeline/mdx/inferenceClient.js';
import { geometryOf, resolveModel } from '../pipeline/models/resolveModel.js';
import { cpuQuota } from '../system/cpuQuota.js';
import { integerOption } from './args.js';
import { ProgressBar } from './progressBar.js';

export const DEMIX_USAGE = `Usage: stembot demix <input> <output.wav> --model <catalog id | path.onnx>
                     [--shifts N] [--no-denoise] [--srs] [--chunk-size N] [--json]

Runs one MDX-Net model over the input exactly as decoded (no normalisation): the spec §B.6 Extract with
denoise (on unless --no-denoise), N whole-second shifts (default 1), optional SRS pass, and the model's volume
compensation. Writes a 32-bit float WAV, 44.1 kHz stereo, as long as the input.`;

export async function demixCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string', short: 'm' },
      shifts: { type: 'string' },
      'no-denoise': { type: 'boolean', default: false },
      srs: { type: 'boolean', default: false },
      'chunk-size': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(DEMIX_USAGE);
    return 0;
  }
  const [input, output] = positionals;
  if (!input || !output || positionals.length > 2) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `demix takes an input file and an output .wav file\n\n${DEMIX_USAGE}`,
    );
  }
  if (!values.model) throw new StembotError('BAD_ARGUMENT', `--model is required\n\n${DEMIX_USAGE}`);
  if (extname(output).toLowerCase() !== '.wav') {
    throw new StembotError(
      'BAD_ARGUMENT',
      `The output of demix is a 32-bit float WAV: name it *.wav (got ${output})`,
    );
  }
  const shifts = integerOption('shifts', values.shifts, 1, 1);
  const chunkSize = integerOption('chunk-size', values['chunk-size'], DEFAULT_CHUNK_SIZE, 1);

  const env = loadPipelineEnv();
  const tools = locateFfmpeg();
  const model = await resolveModel(values.model, env.STEMBOT_MODELS_DIR);
  const started = performance.now();
  const { audio } = await decodeAudio(tools, input, {
    maxDurationS: env.STEMBOT_MAX_DURATION_S,
    maxChannels: env.STEMBOT_MAX_CHANNELS,
  });
  const decodeSeconds = (performance.now() - started) / 1000;

  const thread = new InferenceThread({
    device: env.STEMBOT_DEVICE,
    threads: env.STEMBOT_THREADS || cpuQuota(),
  });
  try {
    const loaded = await thread.loadModel(model.path, geometryOf(model.params));
    const bar = new ProgressBar(`${model.name} (${loaded.provider})`);
    const { audio: estimate, stats } = await thread.extract(
      model.path,
      audio,
      {
        shifts,
        denoise: !values['no-denoise'],
        srs: values.srs,
        chunkSize,
        compensate: model.params.compensate,
      },
      (done, total) => bar.update(done, total),
    );
    bar.finish();
    const writeStarted = performance.now();
    await mkdir(dirname(resolve(output)), { recursive: true });
    await encodeAudio(tools, estimate, output, 'wav');
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    const durationS = stereoDuration(audio);
    const report = {
      input,
      output,
      model: model.name,
      modelParams: { ...geometryOf(model.params), ...loaded.geometry, compensate: model.params.compensate },
      paramsFrom: model.paramsFrom,
      device: loaded.provider,
      durationS,
      seconds: {
        decode: decodeSeconds,
        loadModel: loaded.seconds,
        extract: stats.seconds,
        model: stats.modelSeconds,
        write: writeSeconds,
        total: (performance.now() - started) / 1000,
      },
      modelRuns: stats.modelRuns,
      realTimeFactor: stats.seconds / durationS,
    };
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      const s = report.seconds;
      console.error(
        `wrote ${output} (${durationS.toFixed(2)} s, ${report.device}, ${stats.modelRuns} model runs)\n` +
          `timings: decode ${s.decode.toFixed(2)} s, load ${s.loadModel.toFixed(2)} s, extract ${s.extract.toFixed(2)} s ` +
          `(model ${s.model.toFixed(2)} s), write ${s.write.toFixed(2)} s, total ${s.total.toFixed(2)} s, ` +
          `real-time factor ${report.realTimeFactor.toFixed(3)}`,
      );
    }
    return 0;
  } finally {
    await thread.close();
  }
}
