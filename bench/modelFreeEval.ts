/**
 * Quality of the model-free vocal estimator on MUSDB18 previews (measurement only: the clips stay outside the
 * repository; see the dataset's README for its research-only licence).
 *
 *   node --import tsx bench/modelFreeEval.ts [datasetDir]     (default ../shared/datasets/musdb18-preview)
 *
 * For each `<name>.stem.mp4` under the folder (searched recursively): reference vocals = stream 4, accompaniment =
 * streams 1 + 2 + 3, mixture = their sum (exact, unlike stream 0). Runs librosa's REPET-SIM recipe (baseline), the
 * engine, and the trivial estimate (silence for vocals, so the mixture for music); music = mixture − vocals.
 * Prints JSON with median SDRs (dB, 10·log10(Σref²/Σ(ref − est)²) over both channels) and the engine's speed.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { globalSdr } from '../src/pipeline/analysis/sdr.js';
import { SAMPLE_RATE, type Stereo, subtractStereo } from '../src/pipeline/audio/stereo.js';
import { separateModelFree } from '../src/pipeline/separators/modelFree.js';
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

async function main(): Promise<void> {
  const dir = resolve(process.argv[2] ?? '../shared/datasets/musdb18-preview');
  const files = stemFiles(dir);
  if (files.length === 0) throw new Error(`no .stem.mp4 files under ${dir}`);
  const scores: Record<'repetSim' | 'modelFree' | 'trivial', Scores> = {
    repetSim: { vocals: [], music: [] },
    modelFree: { vocals: [], music: [] },
    trivial: { vocals: [], music: [] },
  };
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
    const repet = score('repetSim', (await separateRepetSim(mixture)).vocals);
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
  };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
