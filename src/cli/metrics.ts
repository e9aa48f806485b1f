import { parseArgs } from 'node:util';

import { loadPipelineEnv } from '../config/env.js';
import { evaluateTargets, type TargetScores } from '../pipeline/analysis/bssEval.js';
import { decodeAudio } from '../pipeline/audio/decode.js';
import { locateFfmpeg } from '../pipeline/audio/ffmpeg.js';
import { fitLength, SAMPLE_RATE, type Stereo } from '../pipeline/audio/stereo.js';
import { StembotError } from '../pipeline/errors.js';

export const METRICS_USAGE = `Usage: stembot metrics --reference NAME=FILE --estimate NAME=FILE [… a pair per target] [--json]

BSS Eval v4 as museval.evaluate(…, mode='v4') computes it (the SiSEC 2018 / MUSDB18 figures): SDR, SIR, SAR and
ISR in dB over 1 s frames, with 512-tap distortion filters fitted on the whole signals, and the median of each over
the frames (a frame where any file is digital silence counts as NaN and is skipped); plus the global SDR,
10·log10(Σ ref² / Σ (ref − est)²) over the whole signal. All targets are evaluated together (SIR needs every
reference), so give each NAME once with --reference and once with --estimate, e.g.
  stembot metrics --reference vocals=v.wav --reference accompaniment=a.wav \\
                  --estimate vocals=ev.wav --estimate accompaniment=ea.wav
Files are anything ffmpeg reads, decoded to 44.1 kHz stereo. The references must have one length; an estimate of
another length is cut or zero-padded at the end to it, as museval does (a note on stderr says so).
--json prints {"targets": {NAME: {SDR, SIR, SAR, ISR, globalSDR, frames: [{time, duration, SDR, SIR, SAR, ISR}]}}}
(dB, seconds) with null for NaN and ±∞.`;

const COLUMNS = ['SDR', 'SIR', 'SAR', 'ISR', 'globalSDR'] as const;

export async function metricsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      reference: { type: 'string', multiple: true },
      estimate: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(METRICS_USAGE);
    return 0;
  }
  const referenceFiles = namedFiles('reference', values.reference);
  const estimateFiles = namedFiles('estimate', values.estimate);
  if (referenceFiles.size === 0 && estimateFiles.size === 0) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `metrics needs a --reference and an --estimate per target\n\n${METRICS_USAGE}`,
    );
  }
  const noEstimate = [...referenceFiles.keys()].filter((name) => !estimateFiles.has(name));
  const noReference = [...estimateFiles.keys()].filter((name) => !referenceFiles.has(name));
  if (noEstimate.length > 0 || noReference.length > 0) {
    const problems = [
      ...noEstimate.map((name) => `target "${name}" has a --reference but no --estimate`),
      ...noReference.map((name) => `target "${name}" has an --estimate but no --reference`),
    ];
    throw new StembotError('BAD_ARGUMENT', `${problems.join('; ')} (every target needs both)`);
  }

  const env = loadPipelineEnv();
  const tools = locateFfmpeg();
  const limits = { maxDurationS: env.STEMBOT_MAX_DURATION_S, maxChannels: env.STEMBOT_MAX_CHANNELS };
  const decode = async (files: Map<string, string>): Promise<Record<string, Stereo>> => {
    const out: Record<string, Stereo> = {};
    for (const [name, file] of files) out[name] = (await decodeAudio(tools, file, limits)).audio;
    return out;
  };
  const references = await decode(referenceFiles);
  const estimates = await decode(estimateFiles);

  const names = [...referenceFiles.keys()];
  const length = references[names[0]].left.length;
  if (names.some((name) => references[name].left.length !== length)) {
    const lengths = names.map((name) => `${name} ${seconds(references[name].left.length)}`).join(', ');
    throw new StembotError(
      'BAD_ARGUMENT',
      `the references differ in length (${lengths}): they must be the stems of one recording, aligned`,
    );
  }
  const fitted: Record<string, Stereo> = {};
  for (const name of names) {
    const n = estimates[name].left.length;
    if (n !== length) {
      const how = n < length ? 'shorter: zero-padded at the end' : 'longer: cut';
      console.error(
        `note: estimate "${name}" is ${Math.abs(n - length)} samples (${seconds(Math.abs(n - length))}) ${how} ` +
          'to the reference length, as museval does',
      );
    }
    fitted[name] = fitLength(estimates[name], length);
  }

  let scores: Record<string, TargetScores>;
  try {
    scores = await evaluateTargets(references, fitted);
  } catch (error) {
    // a file that is digital silence throughout: museval refuses it too (metrics.validate)
    if (error instanceof RangeError)
      throw new StembotError('BAD_ARGUMENT', `cannot evaluate: ${error.message}`);
    throw error;
  }
  console.log(values.json ? JSON.stringify(metricsJson(scores)) : metricsTable(scores));
  return 0;
}

/** `--reference vocals=v.wav` … → name → file; names unique, both parts non-empty. */
function namedFiles(option: 'reference' | 'estimate', values: string[] | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const value of values ?? []) {
    const split = value.indexOf('=');
    const name = value.slice(0, split).trim();
    const file = value.slice(split + 1);
    if (split < 0 || name === '' || file === '') {
      throw new StembotError(
        'BAD_ARGUMENT',
        `--${option} takes NAME=FILE, e.g. vocals=vocals.wav (got "${value}")`,
      );
    }
    if (files.has(name)) throw new StembotError('BAD_ARGUMENT', `--${option} names "${name}" twice`);
    files.set(name, file);
  }
  return files;
}

function seconds(samples: number): string {
  return `${(samples / SAMPLE_RATE).toFixed(3)} s`;
}

/** The --json shape; JSON.stringify writes NaN and ±∞ as null. */
function metricsJson(scores: Record<string, TargetScores>): { targets: Record<string, TargetScores> } {
  const targets: Record<string, TargetScores> = {};
  for (const [name, s] of Object.entries(scores)) {
    targets[name] = {
      SDR: s.SDR,
      SIR: s.SIR,
      SAR: s.SAR,
      ISR: s.ISR,
      globalSDR: s.globalSDR,
      frames: s.frames.map((f) => ({
        time: f.time,
        duration: f.duration,
        SDR: f.SDR,
        SIR: f.SIR,
        SAR: f.SAR,
        ISR: f.ISR,
      })),
    };
  }
  return { targets };
}

/** target, SDR, SIR, SAR, ISR, global SDR: dB with 2 decimals, aligned. */
function metricsTable(scores: Record<string, TargetScores>): string {
  const format = (v: number): string =>
    Number.isNaN(v) ? 'nan' : Number.isFinite(v) ? v.toFixed(2) : v > 0 ? 'inf' : '-inf';
  const header = ['target', 'SDR', 'SIR', 'SAR', 'ISR', 'global SDR'];
  const rows = Object.entries(scores).map(([name, s]) => [name, ...COLUMNS.map((c) => format(s[c]))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [
    line(header),
    ...rows.map(line),
    'dB; SDR, SIR, SAR, ISR: BSS Eval v4 (museval), median over the 1 s frames with a finite value (nan: none,',
    'as for the SDR of a perfect estimate, ∞ in every frame); global SDR: over the whole signal',
  ].join('\n');
}
