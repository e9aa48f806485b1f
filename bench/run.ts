/**
 * `npm run bench`: the performance figures of performance-notes.md measured on this machine, kept out of the
 * test run. Prints one JSON object on stdout; progress goes to stderr.
 *
 *   --quick         fewer repetitions, a 30 s ffmpeg signal (scaled to 240 s), 1 model window unless --windows
 *   --skip-model    skip the full-size network (the slow part)
 *   --skip-ffmpeg   skip the ffmpeg decode/encode part
 *   --windows N     timed model runs after the warm-up (default 3)
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';

import { cpuQuota } from '../src/system/cpuQuota.js';
import { runFfmpegBench } from './ffmpegBench.js';
import { runFftBench } from './fftBench.js';
import { runModelBench } from './modelBench.js';
import { PERFORMANCE_NOTES, log, round, secondsSince } from './report.js';
import { runStftBench, segmentsPerSongPass } from './stftBench.js';

const USAGE = 'usage: npm run bench -- [--quick] [--skip-model] [--skip-ffmpeg] [--windows N]';

interface BenchArgs {
  readonly quick: boolean;
  readonly skipModel: boolean;
  readonly skipFfmpeg: boolean;
  readonly windows: number;
}

function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      'skip-model': { type: 'boolean', default: false },
      'skip-ffmpeg': { type: 'boolean', default: false },
      windows: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  let windows = quick ? 1 : 3;
  if (values.windows !== undefined) {
    windows = Number(values.windows);
    if (!Number.isInteger(windows) || windows < 1)
      throw new Error(`--windows must be an integer >= 1\n${USAGE}`);
  }
  return {
    quick,
    skipModel: values['skip-model'] ?? false,
    skipFfmpeg: values['skip-ffmpeg'] ?? false,
    windows,
  };
}

function cpuInfo(): { model: string; flags: string[] } {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
    const flags = /^flags\s*:\s*(.+)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
    return { model, flags };
  } catch {
    return { model: cpus()[0]?.model ?? 'unknown', flags: [] };
  }
}

function onnxRuntimeVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = loadavg();
  return [round(one, 3), round(five, 3), round(fifteen, 3)];
}

function machine() {
  const { model, flags } = cpuInfo();
  const simd = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16'].filter((flag) =>
    flags.includes(flag),
  );
  return {
    cpuModel: model,
    cores: cpus().length,
    availableParallelism: availableParallelism(),
    cpuQuota: cpuQuota(),
    simdFlags: simd,
    avx512: flags.includes('avx512f'),
    memoryGb: round(totalmem() / 2 ** 30, 3),
    node: process.version,
    onnxruntimeNode: onnxRuntimeVersion(),
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart: loadAverage(),
    note:
      'load average = 1, 5, 15 min; other processes may be loading this machine: a load average near or above ' +
      'the core count means the timings below are slower than this CPU can do. The reference box is a 2-core ' +
      'AVX-512 x86-64 with onnxruntime-node 1.30 and ffmpeg 5.1.',
  };
}

async function section<T>(name: string, action: () => Promise<T>): Promise<T | { error: string }> {
  const start = performance.now();
  log(`${name}: start`);
  try {
    const result = await action();
    log(`${name}: done in ${secondsSince(start).toFixed(1)} s`);
    return result;
  } catch (error) {
    log(`${name}: FAILED ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
    return { error: (error as Error).message ?? String(error) };
  }
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const machineInfo = machine();
  log(`load average at start ${machineInfo.loadAverageAtStart.join(', ')} on ${machineInfo.cores} cores`);
  const segmentsPerPass = segmentsPerSongPass();

  const fftOptions = args.quick ? { rounds: 3, roundSeconds: 0.3 } : { rounds: 5, roundSeconds: 1 };
  const fft = await section('fft', () => runFftBench(fftOptions));
  const stft =
    'error' in fft
      ? { error: 'skipped: the FFT benchmark failed' }
      : await section('stft', () => runStftBench({ segments: args.quick ? 2 : 4 }, fft.rates7680));
  const model = args.skipModel
    ? { skipped: '--skip-model' }
    : await section('model', () =>
        runModelBench({ windows: args.windows, threads: cpuQuota(), segmentsPerPass }),
      );
  const ffmpeg = args.skipFfmpeg
    ? { skipped: '--skip-ffmpeg' }
    : await section('ffmpeg', () =>
        runFfmpegBench(args.quick ? { durationS: 30, repetitions: 1 } : { durationS: 240, repetitions: 3 }),
      );

  const report = {
    benchmark: 'stembot',
    references: PERFORMANCE_NOTES,
    readMe:
      'each figure: measured, unit, better ("lower" for seconds, "higher" for throughputs), reference, ' +
      'ratioToReference = measured / reference (for better "higher", > 1 beats the reference; for "lower", < 1 does)',
    startedAt,
    options: args,
    machine: machineInfo,
    songModel: {
      seconds: 240,
      windowsPerPass: segmentsPerPass,
      note: '4-minute stereo song: 21 full 500000-sample chunks + 1 partial, 2 segments per full chunk + 1',
    },
    fft,
    stft,
    model,
    ffmpeg,
    loadAverageAtEnd: loadAverage(),
    totalSeconds: round(secondsSince(started)),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
