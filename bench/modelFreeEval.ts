/**
 * Quality of the model-free vocal estimator on MUSDB18 previews (measurement only: the clips stay outside the
 * repository; see the dataset's README for its research-only licence).
 *
 *   node --import tsx bench/modelFreeEval.ts [--ablation] [datasetDir]   (default ../shared/datasets/musdb18-preview)
 *
 * For each `<name>.stem.mp4` under the folder (searched recursively): reference vocals = stream 4, accompaniment =
 * streams 1 + 2 + 3, mixture = their sum (exact, unlike stream 0). Runs librosa's REPET-SIM recipe (baseline), the
 * engine, and the trivial estimate (silence for vocals, so the mixture for music); music = mixture − vocals.
 * Prints JSON with median SDRs (dB, 10·log10(Σref²/Σ(ref − est)²) over both channels) and the engine's speed.
 * With `--ablation`, also the median SDRs of the engine's variants listed in ABLATION (see there) as `ablation`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { globalSdr } from '../src/pipeline/analysis/sdr.js';
import { SAMPLE_RATE, type Stereo, subtractStereo } from '../src/pipeline/audio/stereo.js';
import {
  hpssStage,
  separateModelFree,
  type StageSettings,
  STEADY,
  UNSTEADY,
  VOCAL_BAND,
} from '../src/pipeline/separators/modelFree.js';
import { hpssMask } from '../src/pipeline/separators/modelFree/hpss.js';
import { midMagnitude } from '../src/pipeline/separators/modelFree/midMagnitude.js';
import { applyMasks, magnitudes } from '../src/pipeline/separators/modelFree/stft.js';
import { vocalBandGains } from '../src/pipeline/separators/modelFree/vocalBand.js';
import { separateRepetSim } from '../src/pipeline/separators/repetSim.js';

function stemFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...stemFiles(path));
    else if (entry.endsWith('.stem.mp4')) found.push(path);
  }
  return found;
}

/** One stream of the stem file as 44.1 kHz stereo float. */
function decodeStream(file: string, stream: number): Promise<Stereo> {
  return new Promise((resolvePromise, reject) => {
    const args = [
      '-v',
      'error',
      '-i',
      file,
      '-map',
      `0:${stream}`,
      '-f',
      'f32le',
      '-ac',
      '2',
      '-ar',
      '44100',
      'pipe:1',
    ];
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg failed on ${file} stream ${stream}: ${stderr.trim()}`));
      const bytes = Buffer.concat(chunks);
      const samples = new Float32Array(
        bytes.buffer,
        bytes.byteOffset,
        Math.floor(bytes.length / 8) * 2,
      ).slice();
      const n = samples.length / 2;
      const left = new Float32Array(n);
      const right = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        left[i] = samples[2 * i];
        right[i] = samples[2 * i + 1];
      }
      resolvePromise({ left, right });
    });
  });
}

function sumStereo(parts: Stereo[]): Stereo {
  const n = Math.min(...parts.map((p) => p.left.length));
  const out = { left: new Float32Array(n), right: new Float32Array(n) };
  for (const p of parts) {
    for (let i = 0; i < n; i++) {
      out.left[i] += p.left[i];
      out.right[i] += p.right[i];
    }
  }
  return out;
}

function cut(audio: Stereo, n: number): Stereo {
  return { left: audio.left.subarray(0, n), right: audio.right.subarray(0, n) };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const round = (x: number): number => Math.round(x * 100) / 100;

interface Scores {
  vocals: number[];
  music: number[];
}

/**
 * Ablation: the engine's ideas one at a time, built from its exported stage function and settings. The first five
 * rows are the cumulative path from the baseline to the engine (each adds one idea); the rest change or add one
 * knob of the final engine. `two-stage+band` is the engine itself, rebuilt here, and is checked to equal
 * `separateModelFree`'s output sample for sample on every clip. Variants share a clip's stage-1 output.
 */
interface Variant {
  readonly variant: string;
  readonly description: string;
  readonly run: (mixture: Stereo, shared: SharedStages) => Promise<Stereo>;
}

/** Per-clip intermediate results that several variants reuse (computed once, on first use). */
interface SharedStages {
  /** the baseline's vocals (already computed for the main report) */
  readonly repetSim: Stereo;
  /** the engine's stage-1 output (long-window percussive part of the mixture) */
  unsteady(): Promise<Stereo>;
}

const withPower = (stage: StageSettings, power: number): StageSettings => ({
  ...stage,
  hpss: { ...stage.hpss, power },
});

const bandGains = (): Float32Array => vocalBandGains(VOCAL_BAND, STEADY.geometry.size, SAMPLE_RATE);

/**
 * Stereo-centre prior at the short window, on the mixture: 1 − |L − R| / (|L| + |R| + ε) per (frame, bin), in [0, 1]
 * (|L − R| of the complex spectra, via the STFT of the side signal). 1 where both channels agree (centre-panned, as
 * lead vocals usually are), 0 where one channel is silent or they cancel.
 */
async function centrePrior(mixture: Stereo): Promise<Float32Array> {
  const side = mixture.left.map((l, i) => l - mixture.right[i]);
  const { left, right } = await magnitudes(mixture, STEADY.geometry);
  const difference = (await magnitudes({ left: side, right: side }, STEADY.geometry)).left.data;
  const prior = new Float32Array(difference.length);
  for (let i = 0; i < prior.length; i++) {
    prior[i] = 1 - difference[i] / (left.data[i] + right.data[i] + 1e-9);
  }
  return prior;
}

/** The engine's stage 2 with the centre prior multiplied into its mask (the band prior as usual). */
async function steadyStageTimesCentre(mixture: Stereo, unsteady: Stereo): Promise<Stereo> {
  const centre = await centrePrior(mixture);
  const { left, right } = await magnitudes(unsteady, STEADY.geometry);
  const mid = midMagnitude(left, right);
  const mask = await hpssMask(mid, STEADY.hpss, 'harmonic');
  const band = bandGains();
  for (let i = 0; i < mask.length; i++) mask[i] *= band[i % mid.bins] * centre[i];
  return applyMasks(unsteady, STEADY.geometry, { left: mask, right: mask });
}

const ABLATION: readonly Variant[] = [
  {
    variant: 'repet-sim',
    description: "librosa's REPET-SIM recipe (the baseline)",
    run: (_, shared) => Promise.resolve(shared.repetSim),
  },
  {
    variant: 'hpss-short',
    description: 'single HPSS at 2048/512, harmonic mask, stage-2 medians (17×17, power 2), no band prior',
    run: (mixture) => hpssStage(mixture, STEADY, 'harmonic', null),
  },
  {
    variant: 'hpss-short+band',
    description: 'hpss-short times the 200 Hz–8 kHz vocal band prior',
    run: (mixture) => hpssStage(mixture, STEADY, 'harmonic', bandGains()),
  },
  {
    variant: 'two-stage',
    description:
      'long-window percussive stage (16384/4096), then the short-window harmonic stage; no band prior',
    run: async (_, shared) => hpssStage(await shared.unsteady(), STEADY, 'harmonic', null),
  },
  {
    variant: 'two-stage+band',
    description: 'the final engine: two-stage times the vocal band prior (= separateModelFree)',
    run: async (_, shared) => hpssStage(await shared.unsteady(), STEADY, 'harmonic', bandGains()),
  },
  {
    variant: 'final−stage1-power2→1',
    description: 'final engine with the stage-1 mask a ratio of magnitudes (power 1) instead of powers (2)',
    run: async (mixture) => {
      const unsteady = await hpssStage(mixture, withPower(UNSTEADY, 1), 'percussive', null);
      return hpssStage(unsteady, STEADY, 'harmonic', bandGains());
    },
  },
  {
    variant: 'final−stage2-power2→1',
    description: 'final engine with the stage-2 mask a ratio of magnitudes (power 1) instead of powers (2)',
    run: async (_, shared) =>
      hpssStage(await shared.unsteady(), withPower(STEADY, 1), 'harmonic', bandGains()),
  },
  {
    variant: 'final×centre',
    description:
      'final engine with its stage-2 mask also times the stereo-centre prior 1 − |L−R|/(|L|+|R|+ε)',
    run: async (mixture, shared) => steadyStageTimesCentre(mixture, await shared.unsteady()),
  },
];

/** The final engine's row in ABLATION, checked against separateModelFree. */
const FINAL_VARIANT = 'two-stage+band';

function assertSameAudio(a: Stereo, b: Stereo, label: string): void {
  for (const side of ['left', 'right'] as const) {
    const x = a[side];
    const y = b[side];
    if (x.length !== y.length) throw new Error(`${label}: ${side} lengths ${x.length} ≠ ${y.length}`);
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) throw new Error(`${label}: ${side}[${i}] ${x[i]} ≠ ${y[i]}`);
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ablation = args.includes('--ablation');
  const dir = resolve(args.find((a) => a !== '--ablation') ?? '../shared/datasets/musdb18-preview');
  const files = stemFiles(dir);
  if (files.length === 0) throw new Error(`no .stem.mp4 files under ${dir}`);
  const scores: Record<'repetSim' | 'modelFree' | 'trivial', Scores> = {
    repetSim: { vocals: [], music: [] },
    modelFree: { vocals: [], music: [] },
    trivial: { vocals: [], music: [] },
  };
  const ablationScores: Scores[] = ABLATION.map(() => ({ vocals: [], music: [] }));
  const perClip: Record<string, unknown>[] = [];
  let engineSeconds = 0;
  let audioSeconds = 0;
  for (const file of files) {
    const [drums, bass, other, vocalsRaw] = await Promise.all([1, 2, 3, 4].map((s) => decodeStream(file, s)));
    const n = Math.min(drums.left.length, bass.left.length, other.left.length, vocalsRaw.left.length);
    const vocals = cut(vocalsRaw, n);
    const music = sumStereo([drums, bass, other].map((s) => cut(s, n)));
    const mixture = sumStereo([vocals, music]);
    const score = (name: keyof typeof scores, estimate: Stereo): number[] => {
      const v = globalSdr(vocals, estimate);
      const m = globalSdr(music, subtractStereo(mixture, estimate));
      scores[name].vocals.push(v);
      scores[name].music.push(m);
      return [round(v), round(m)];
    };
    const sdrs = (estimate: Stereo): [number, number] => [
      globalSdr(vocals, estimate),
      globalSdr(music, subtractStereo(mixture, estimate)),
    ];
    const repetVocals = (await separateRepetSim(mixture)).vocals;
    const repet = score('repetSim', repetVocals);
    const start = performance.now();
    const engine = (await separateModelFree(mixture)).vocals;
    engineSeconds += (performance.now() - start) / 1000;
    audioSeconds += n / SAMPLE_RATE;
    const model = score('modelFree', engine);
    const trivial = score('trivial', { left: new Float32Array(n), right: new Float32Array(n) });
    perClip.push({ clip: file.slice(dir.length + 1), repetSim: repet, modelFree: model, trivial });
    process.stderr.write(
      `${file.slice(dir.length + 1)}: repet ${repet} engine ${model} trivial ${trivial}\n`,
    );
    if (ablation) {
      let unsteady: Promise<Stereo> | null = null;
      const shared: SharedStages = {
        repetSim: repetVocals,
        unsteady: () => (unsteady ??= hpssStage(mixture, UNSTEADY, 'percussive', null)),
      };
      const row: string[] = [];
      for (const [k, v] of ABLATION.entries()) {
        const estimate = await v.run(mixture, shared);
        if (v.variant === FINAL_VARIANT)
          assertSameAudio(estimate, engine, `${file}: ${FINAL_VARIANT} vs engine`);
        const [vs, ms] = sdrs(estimate);
        ablationScores[k].vocals.push(vs);
        ablationScores[k].music.push(ms);
        row.push(`${v.variant} ${round(vs)},${round(ms)}`);
      }
      process.stderr.write(`  ablation: ${row.join('; ')}\n`);
    }
  }
  const summary = (s: Scores) => ({
    vocalsMedianDb: round(median(s.vocals)),
    musicMedianDb: round(median(s.music)),
  });
  const report = {
    clips: files.length,
    repetSim: summary(scores.repetSim),
    modelFree: summary(scores.modelFree),
    trivial: summary(scores.trivial),
    secondsPerAudioSecond: Math.round((engineSeconds / audioSeconds) * 10000) / 10000,
    ...(ablation && {
      ablation: ABLATION.map((v, k) => ({
        variant: v.variant,
        description: v.description,
        ...summary(ablationScores[k]),
      })),
    }),
  };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
