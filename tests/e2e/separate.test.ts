import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evalOddBreaking, oddBreakingModel } from '../../src/fixtures/analyticModels.js';
import { writeModelWithSidecar } from '../../src/fixtures/writeModel.js';
import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { decodeWav, encodeWav } from '../../src/pipeline/audio/wav.js';
import { referenceRecipe } from '../reference/recipeReference.js';
import { runCli } from '../support/cli.js';
import { testSong } from '../support/signals.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-separate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SIX_FILES = [
  '1 - NORMALIZED.wav',
  '2 - Music_extract.wav',
  '3 - Audio_sub_Music.wav',
  '4_F - Vocals.wav',
  '5_F - Music.wav',
  '6 - Bleeding_in_Music.wav',
];

function maxAbsDiff(a: Float32Array, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('stembot separate with custom MDX models (spec §A end to end)', () => {
  // Small geometries the real models do not have, and non-linear, non-odd models, so shifts, denoise,
  // SRS, compensation and every gate matter.
  const musicGeometry = { nFft: 2048, dimF: 160, dimT: 8 };
  const vocalGeometry = { nFft: 2560, dimF: 200, dimT: 8 };
  const musicFixture = oddBreakingModel({ dimF: musicGeometry.dimF, dimT: musicGeometry.dimT, seed: 5 });
  const vocalFixture = oddBreakingModel({ dimF: vocalGeometry.dimF, dimT: vocalGeometry.dimT, seed: 6 });
  let musicModel: string;
  let vocalModel: string;
  let input: string;
  let song: Stereo;

  before(async () => {
    musicModel = join(dir, 'music.onnx');
    vocalModel = join(dir, 'vocals.onnx');
    await writeModelWithSidecar(musicModel, musicFixture.bytes, {
      n_fft: musicGeometry.nFft,
      dim_f: musicGeometry.dimF,
      dim_t: musicGeometry.dimT,
      compensate: 1.024,
      stem: 'Instrumental',
    });
    await writeModelWithSidecar(vocalModel, vocalFixture.bytes, {
      n_fft: vocalGeometry.nFft,
      dim_f: vocalGeometry.dimF,
      dim_t: vocalGeometry.dimT,
      compensate: 1.0085,
      stem: 'Vocals',
    });
    song = testSong(Math.round(4.2 * 44100), 9);
    // a quiet stretch in the middle so the Silent gates act
    for (let i = 2 * 44100; i < Math.round(3.4 * 44100); i++) {
      song.left[i] *= 1e-4;
      song.right[i] *= 1e-4;
    }
    input = join(dir, 'song.wav');
    await writeFile(input, encodeWav(song, 'f32'));
  });

  it('--preset best --format wav: the six files match a plain reference of spec §A within 1e-4', async () => {
    const out = join(dir, 'best');
    const args = ['separate', input, '--out', out, '--preset', 'best', '--format', 'wav', '--no-cache'];
    const result = await runCli([
      ...args,
      '--music-model',
      musicModel,
      '--vocal-model',
      vocalModel,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const stats = JSON.parse(result.stdout);
    assert.equal(stats.engine, 'mdx');
    assert.equal(stats.preset, 'best');
    assert.deepEqual((await readdir(join(out, 'song'))).sort(), [...SIX_FILES, 'spectrogram.png'].sort());
    const png = await readFile(join(out, 'song', 'spectrogram.png'));
    assert.ok(png.subarray(1, 4).toString() === 'PNG', 'the picture is a PNG');

    const model =
      (fixture: typeof musicFixture, dimF: number, dimT: number) =>
      async (tensor: Float32Array, dims: number[]) =>
        evalOddBreaking(fixture.params, tensor, { batch: dims[0], dimF, dimT });
    const reference = await referenceRecipe(
      song.left,
      song.right,
      {
        model: model(musicFixture, musicGeometry.dimF, musicGeometry.dimT),
        geometry: musicGeometry,
        compensate: 1.024,
      },
      {
        model: model(vocalFixture, vocalGeometry.dimF, vocalGeometry.dimT),
        geometry: vocalGeometry,
        compensate: 1.0085,
      },
      { musicShifts: 6, vocalShifts: 12, srsShifts: 2, srs: true, denoise: true, chunkSize: 500000 },
    );
    const keys = ['1', '2', '3', '4_F', '5_F', '6'] as const;
    for (const [index, key] of keys.entries()) {
      const file = decodeWav(await readFile(join(out, 'song', SIX_FILES[index]))).audio;
      const expected = reference[key];
      assert.equal(file.left.length, song.left.length, `${SIX_FILES[index]} length`);
      const error = Math.max(maxAbsDiff(file.left, expected.left), maxAbsDiff(file.right, expected.right));
      assert.ok(error < 1e-4, `${SIX_FILES[index]}: max |ours − reference| = ${error}`);
    }
  });

  it('the same song twice: the rerun comes from the cache, at least 3× faster, byte-identical', async () => {
    const cacheDir = join(dir, 'cache');
    const models = ['--music-model', musicModel, '--vocal-model', vocalModel];
    const run = (out: string) =>
      runCli(
        [
          'separate',
          input,
          '--out',
          join(dir, out),
          '--preset',
          'balanced',
          '--format',
          'wav',
          '--json',
          ...models,
        ],
        { STEMBOT_CACHE_DIR: cacheDir },
      );
    const first = await run('run1');
    assert.equal(first.code, 0, first.stderr);
    const second = await run('run2');
    assert.equal(second.code, 0, second.stderr);
    const a = JSON.parse(first.stdout);
    const b = JSON.parse(second.stdout);
    assert.deepEqual(a.cacheHits, []);
    assert.deepEqual(b.cacheHits, ['music', 'vocals', 'vocals_srs']);
    const work = (stats: { seconds: Record<string, number> }) =>
      ['normalize', 'music', 'subtract', 'vocals', 'vocals_srs', 'finals'].reduce(
        (sum, k) => sum + (stats.seconds[k] ?? 0),
        0,
      );
    assert.ok(work(a) >= 3 * work(b), `separation ${work(a)} s then ${work(b)} s`);
    for (const name of SIX_FILES) {
      const one = await readFile(join(dir, 'run1', 'song', name));
      const two = await readFile(join(dir, 'run2', 'song', name));
      assert.ok(one.equals(two), `${name} byte-identical`);
    }
  });

  it('--stems writes only the finals asked for', async () => {
    const out = join(dir, 'stems');
    const result = await runCli([
      'separate',
      input,
      '--out',
      out,
      '--preset',
      'fast',
      '--format',
      'flac',
      '--stems',
      'vocals,music',
      '--music-model',
      musicModel,
      '--vocal-model',
      vocalModel,
      '--no-cache',
      '--no-plot',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(join(out, 'song'))).sort(), ['4_F - Vocals.flac', '5_F - Music.flac']);
  });

  it('a damaged installed model names `stembot models pull … --force`; a missing one falls back with a notice', async () => {
    const modelsDir = join(dir, 'models-damaged');
    await mkdir(modelsDir, { recursive: true });
    await writeFile(join(modelsDir, 'UVR-MDX-NET-Inst_HQ_3.onnx'), 'not an onnx model at all');
    await writeFile(join(modelsDir, 'Kim_Vocal_2.onnx'), 'not an onnx model either');
    const damaged = await runCli(['separate', input, '--out', join(dir, 'damaged'), '--no-cache'], {
      STEMBOT_MODELS_DIR: modelsDir,
    });
    assert.equal(damaged.code, 1, damaged.stderr);
    assert.match(damaged.stderr, /stembot models pull (inst-hq-3|kim-vocal-2) --force/);
    await assert.rejects(readdir(join(dir, 'damaged', 'song')), 'no half-written output');

    const missing = await runCli(
      ['separate', input, '--out', join(dir, 'fallback'), '--preset', 'fast', '--no-cache', '--no-plot'],
      { STEMBOT_MODELS_DIR: join(dir, 'models-empty') },
    );
    assert.equal(missing.code, 0, missing.stderr);
    assert.match(missing.stderr, /stembot models pull inst-hq-3 kim-vocal-2/);
    const explicit = await runCli(['separate', input, '--out', join(dir, 'never'), '--engine', 'mdx'], {
      STEMBOT_MODELS_DIR: join(dir, 'models-empty'),
    });
    assert.equal(explicit.code, 1, explicit.stderr);
    assert.match(explicit.stderr, /run `stembot models pull inst-hq-3`/);
  });

  it('bad options are refused before any work, exit 2', async () => {
    for (const [args, pattern] of [
      [['--preset', 'ultra'], /--preset must be fast, balanced or best/],
      [['--format', 'aiff'], /--format must be one of/],
      [['--stems', 'drums'], /--stems takes a list of vocals, music, bleed/],
      [['--engine', 'demucs'], /--engine must be auto, mdx or repet/],
    ] as const) {
      const result = await runCli(['separate', input, '--out', join(dir, 'never'), ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
    }
    await assert.rejects(readdir(join(dir, 'never')), 'no output folder');
  });
});
