import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { seededRandom } from '../../src/fixtures/seededRandom.js';
import { evaluateTargets } from '../../src/pipeline/analysis/bssEval.js';
import { SAMPLE_RATE, type Stereo } from '../../src/pipeline/audio/stereo.js';
import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { runKarafanRecipe } from '../../src/pipeline/recipe/karafanRecipe.js';
import { PRESETS } from '../../src/pipeline/recipe/presets.js';
import { modelFreeSlots } from '../../src/pipeline/separators/modelFreeExtractor.js';
import { type CliResult, runCli } from '../support/cli.js';

/**
 * `stembot eval` on a generated MUSDB18-HQ folder, with the model-free engine (no models in tests):
 *   A - Singer        a gliding, vibrato "voice" over drums, bass and a chord; mixture.wav = stems + a −30 dB hiss
 *                     of its own, so the provided mixture differs from the sum, as in MUSDB18;
 *   B - Instrumental  silent vocals.wav: BSS Eval is undefined for the track (museval refuses it);
 *   C - Broken        mixture.wav is text: reported and skipped, exit code 1.
 */

const N = 3 * SAMPLE_RATE;
const METRICS = ['SDR', 'SIR', 'SAR', 'ISR', 'globalSDR'] as const;
const TARGETS = ['vocals', 'accompaniment'] as const;
type Summary = Record<(typeof METRICS)[number], number | null>;
interface EvalJson {
  engine: string;
  preset: string;
  mixture: string;
  tracks: { name: string; targets: Record<(typeof TARGETS)[number], Summary>; seconds: number }[];
  median: Record<(typeof TARGETS)[number], Summary>;
  failed: { name: string; error: string }[];
}

let dir: string;
let folder: string;
/** The CLI runs, started together in before() (each is mostly one process's start-up and one BSS Eval). */
let runs: Record<'json' | 'sum' | 'table', Promise<CliResult>>;
const COMMON = ['--engine', 'repet', '--preset', 'fast', '--no-cache'];

function stereo(make: (i: number, channel: 0 | 1) => number): Stereo {
  const left = new Float32Array(N);
  const right = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    left[i] = make(i, 0);
    right[i] = make(i, 1);
  }
  return { left, right };
}

/** Five harmonics of a pitch stepping every 0.5 s, with a 5 Hz ±3 % vibrato; phase integrated sample by sample. */
function voice(): Stereo {
  const notes = [330, 392, 440, 349, 294, 370];
  let phase = 0;
  const mono = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const t = i / SAMPLE_RATE;
    const f0 = notes[Math.floor(t / 0.5) % notes.length] * (1 + 0.03 * Math.sin(2 * Math.PI * 5 * t));
    phase += (2 * Math.PI * f0) / SAMPLE_RATE;
    let x = 0;
    for (let k = 1; k <= 5; k++) x += (0.08 / k) * Math.sin(k * phase);
    mono[i] = x;
  }
  return withNoise(
    stereo((i, channel) => (channel === 0 ? mono[i] : 0.9 * mono[i])),
    1,
  );
}

/** Noise bursts every 0.25 s (30 ms decay), a 55 Hz bass and a steady A-major chord. */
function band(seed: number): { drums: Stereo; bass: Stereo; other: Stereo } {
  const random = seededRandom(seed);
  const beat = Math.round(0.25 * SAMPLE_RATE);
  return {
    drums: stereo((i) => 0.15 * Math.exp(-(i % beat) / (0.03 * SAMPLE_RATE)) * (2 * random.next() - 1)),
    bass: withNoise(
      stereo((i) => 0.1 * Math.sin((2 * Math.PI * 55 * i) / SAMPLE_RATE)),
      seed + 100,
    ),
    other: withNoise(
      stereo((i, channel) =>
        [440, 554.37, 659.26].reduce(
          (x, f) => x + 0.04 * Math.sin((2 * Math.PI * f * i) / SAMPLE_RATE + channel),
          0,
        ),
      ),
      seed + 200,
    ),
  };
}

/** Σ parts, rounded to float32 after each addition, in order (as the loader sums drums, bass, other). */
function add(...parts: Stereo[]): Stereo {
  return stereo((i, channel) =>
    parts.reduce((x, p) => Math.fround(x + (channel === 0 ? p.left[i] : p.right[i])), 0),
  );
}

/**
 * A little white noise in every stem (about −45 dBFS): pure tones alone make BSS Eval's Gram matrix singular, and
 * its SIR/SAR then swing by tenths of a dB on float32 rounding of the references.
 */
function withNoise(audio: Stereo, seed: number): Stereo {
  const random = seededRandom(seed);
  return stereo(
    (i, channel) => (channel === 0 ? audio.left : audio.right)[i] + 0.005 * (2 * random.next() - 1),
  );
}

async function writeTrack(name: string, stems: Record<string, Stereo | string>): Promise<void> {
  await mkdir(join(folder, name), { recursive: true });
  for (const [stem, audio] of Object.entries(stems)) {
    await writeFile(
      join(folder, name, `${stem}.wav`),
      typeof audio === 'string' ? audio : encodeWav(audio, 'f32'),
    );
  }
}

/** np.nanmedian of the non-null values; null when there are none. */
function median(values: readonly (number | null)[]): number | null {
  const finite = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const h = finite.length >> 1;
  return finite.length % 2 ? finite[h] : (finite[h - 1] + finite[h]) / 2;
}

const singer = { vocals: voice(), ...band(3) };
const singerAccompaniment = add(singer.drums, singer.bass, singer.other);
const hissRandom = seededRandom(4);
const hiss = stereo(() => 0.01 * (2 * hissRandom.next() - 1));
const singerMixture = add(singer.vocals, singerAccompaniment, hiss);
const instrumental = band(5);
const instrumentalAccompaniment = add(instrumental.drums, instrumental.bass, instrumental.other);

/**
 * What `eval` should report for a mixture of track A, computed here from the library with the recipe's own
 * normalisation undone as spec §A.2 step 1 states it: x = (song − dc)·0.891251 / peak, so stems·peak/0.891251
 * (+ dc into the accompaniment) are back at the song's level.
 */
async function expectedScores(mixture: Stereo) {
  const result = await runKarafanRecipe(mixture, { ...modelFreeSlots(), preset: PRESETS.fast });
  let sum = 0;
  for (let i = 0; i < N; i++) sum += mixture.left[i] + mixture.right[i];
  const dc = Math.fround(sum / (2 * N));
  let peak = 0;
  for (let i = 0; i < N; i++)
    peak = Math.max(peak, Math.abs(mixture.left[i] - dc), Math.abs(mixture.right[i] - dc));
  const gain = Math.fround(10 ** (-1 / 20)) / peak;
  const level = (audio: Stereo, offset: number) =>
    stereo((i, c) => (c === 0 ? audio.left : audio.right)[i] / gain + offset);
  return evaluateTargets(
    { vocals: singer.vocals, accompaniment: singerAccompaniment },
    { vocals: level(result.files['4_F']!, 0), accompaniment: level(result.files['5_F']!, dc) },
  );
}

function assertClose(actual: number | null, expected: number, what: string, tolerance = 1e-3): void {
  assert.ok(
    actual !== null && Math.abs(actual - expected) < tolerance,
    `${what}: eval ${actual}, expected ${expected}`,
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-eval-'));
  folder = join(dir, 'dataset', 'test');
  await writeTrack('A - Singer', { mixture: singerMixture, ...singer });
  await writeTrack('B - Instrumental', {
    mixture: instrumentalAccompaniment,
    vocals: stereo(() => 0),
    accompaniment: instrumentalAccompaniment,
  });
  await writeTrack('C - Broken', {
    mixture: 'This is not a WAV file, only a sentence.',
    vocals: singer.vocals,
    accompaniment: singerAccompaniment,
  });
  runs = {
    // the parent folder: tracks are found one folder down
    json: runCli(['eval', join(dir, 'dataset'), ...COMMON, '--json']),
    sum: runCli(['eval', folder, ...COMMON, '--mixture', 'sum', '--limit', '1', '--json', '--frames']),
    table: runCli(['eval', folder, ...COMMON, '--limit', '2']),
  };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stembot eval', () => {
  it('--json: per-track BSS Eval of the stems the recipe makes, medians over tracks, NaN as null', async () => {
    const result = await runs.json;
    assert.equal(result.code, 1, `a skipped track makes the exit code 1\n${result.stderr}`);
    const report = JSON.parse(result.stdout) as EvalJson;
    assert.equal(report.engine, 'repet');
    assert.equal(report.preset, 'fast');
    assert.equal(report.mixture, 'stream');
    assert.deepEqual(
      report.tracks.map((t) => t.name),
      ['test/A - Singer', 'test/B - Instrumental'],
    );
    for (const track of report.tracks) {
      assert.deepEqual(Object.keys(track).sort(), ['name', 'seconds', 'targets']);
      assert.ok(track.seconds > 0, `${track.name}: seconds ${track.seconds}`);
      assert.deepEqual(Object.keys(track.targets).sort(), ['accompaniment', 'vocals']);
      for (const target of TARGETS) {
        assert.deepEqual(
          Object.keys(track.targets[target]).sort(),
          [...METRICS].sort(),
          'no frames unless --frames',
        );
      }
    }

    // C: reported, skipped, the file at fault named
    assert.equal(report.failed.length, 1);
    assert.equal(report.failed[0].name, 'test/C - Broken');
    assert.ok(
      report.failed[0].error.includes(join(folder, 'C - Broken', 'mixture.wav')),
      report.failed[0].error,
    );
    assert.match(result.stderr, /C - Broken skipped/);

    // A: what evaluateTargets gives on the recipe's Vocals (4_F) and Music (5_F) finals of mixture.wav
    const [singerReport, instrumentalReport] = report.tracks;
    const expected = await expectedScores(singerMixture);
    for (const target of TARGETS) {
      for (const metric of METRICS) {
        assertClose(singerReport.targets[target][metric], expected[target][metric], `A ${target} ${metric}`);
      }
    }
    // and it is a separation, not the mixture passed through: the vocals are found
    assert.ok(expected.vocals.SDR > 3, `A vocals SDR ${expected.vocals.SDR} dB`);

    // B: silent reference vocals → the four BSS metrics of both targets are null, the global SDRs defined or not
    for (const target of TARGETS) {
      for (const metric of ['SDR', 'SIR', 'SAR', 'ISR'] as const) {
        assert.equal(instrumentalReport.targets[target][metric], null, `B ${target} ${metric}`);
      }
    }
    assert.equal(instrumentalReport.targets.vocals.globalSDR, null, '10·log10(0 / error) = −∞ → null');
    assert.equal(typeof instrumentalReport.targets.accompaniment.globalSDR, 'number');
    assert.match(result.stderr, /B - Instrumental: silent over the whole track: reference vocals/);

    // medians over tracks, nulls skipped: B's null metrics leave A's values; both global SDRs of the music count
    for (const target of TARGETS) {
      for (const metric of METRICS) {
        const values = report.tracks.map((t) => t.targets[target][metric]);
        assert.equal(report.median[target][metric], median(values), `median ${target} ${metric}`);
      }
    }
    assert.equal(report.median.vocals.SDR, singerReport.targets.vocals.SDR);
    assert.notEqual(report.median.accompaniment.globalSDR, singerReport.targets.accompaniment.globalSDR);
  });

  it('--mixture sum --limit 1 --frames: separates vocals + accompaniment, frames of 1 s', async () => {
    const result = await runs.sum;
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as EvalJson;
    assert.equal(report.mixture, 'sum');
    assert.deepEqual(
      report.tracks.map((t) => t.name),
      ['A - Singer'],
    );
    const expected = await expectedScores(add(singer.vocals, singerAccompaniment));
    const vocals = report.tracks[0].targets.vocals as Summary & {
      frames: { time: number; SDR: number | null }[];
    };
    assertClose(vocals.SDR, expected.vocals.SDR, 'A vocals SDR, mixture = sum');
    assert.deepEqual(
      vocals.frames.map((f) => f.time),
      [0, 1, 2],
      '3 s: three 1 s frames',
    );
    for (const [t, frame] of vocals.frames.entries())
      assertClose(frame.SDR, expected.vocals.frames[t].SDR, `frame ${t}`);
  });

  it('without --json: a table on stdout, one row per track and the medians', async () => {
    const result = await runs.table;
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0], /vocals\s+accompaniment\s+global SDR/);
    assert.match(
      lines[1],
      /^track\s+SDR\s+SIR\s+SAR\s+ISR\s+SDR\s+SIR\s+SAR\s+ISR\s+vocals\s+accomp\.\s+seconds$/,
    );
    const row = lines.find((line) => line.startsWith('A - Singer'));
    assert.ok(row, result.stdout);
    assert.equal(row.trim().split(/\s+/).length, 3 + 10 + 1, `name (3 words), 10 figures, seconds: ${row}`);
    assert.match(
      lines.find((line) => line.startsWith('B - Instrumental'))!,
      /(nan\s+){8}nan\s+-?\d+\.\d\d\s+\d+\.\d$/,
    );
    assert.match(lines.at(-1)!, /^median\s+(-?\d+\.\d\d\s+){9}-?\d+\.\d\d$/);
    assert.match(result.stderr, /2 tracks in .* repet .* preset fast, mixture stream/);
  });

  it('refuses a bad option (exit 2) and a folder without tracks (exit 2, naming it)', async () => {
    const bad = await runCli(['eval', folder, '--mixture', 'both']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--mixture must be stream or sum/);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const none = await runCli(['eval', empty, '--engine', 'repet']);
    assert.equal(none.code, 2, none.stderr);
    assert.ok(none.stderr.includes(empty), none.stderr);
  });
});
