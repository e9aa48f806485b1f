import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  binGainModel,
  evalOddBreaking,
  identityModel,
  oddBreakingModel,
} from '../../src/fixtures/analyticModels.js';
import { writeModelWithSidecar } from '../../src/fixtures/writeModel.js';
import { decodeWav, encodeWav } from '../../src/pipeline/audio/wav.js';
import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { referenceExtract } from '../reference/mdxReference.js';
import { runCli } from '../support/cli.js';
import { testSong } from '../support/signals.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-demix-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeInput(name: string, audio: Stereo): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, encodeWav(audio, 'f32'));
  return path;
}

async function readOutput(path: string): Promise<Stereo> {
  return decodeWav(await readFile(path)).audio;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number {
  let worst = 0;
  for (let i = from; i < to; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('stembot demix (spec §B.6 Extract, end to end through the CLI)', () => {
  it('identity model at the Inst HQ 3 geometry returns the input (only the Nyquist bin is dropped)', async () => {
    const model = join(dir, 'identity.onnx');
    await writeModelWithSidecar(model, identityModel({ dimF: 3072, dimT: 256 }).bytes, {
      n_fft: 6144,
      dim_f: 3072,
      dim_t: 256,
      compensate: 1,
      stem: 'Instrumental',
    });
    const song = testSong(3 * 44100 + 17, 3);
    const input = await writeInput('song.wav', song);
    const output = join(dir, 'identity-out.wav');
    const result = await runCli(['demix', input, output, '--model', model, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.modelRuns, 2, '3 s < gen = 254976 samples: one segment, run on X and −X (denoise)');
    const out = await readOutput(output);
    assert.equal(out.left.length, song.left.length);
    const error = Math.max(maxAbsDiff(out.left, song.left), maxAbsDiff(out.right, song.right));
    assert.ok(error < 1e-4, `identity reconstruction error ${error}`);
  });

  it('fixed per-bin gain model applies the known filter: a tone on bin k comes out scaled by gain[k]', async () => {
    const dimF = 3072;
    const gains = new Float32Array(dimF).map((_, f) => 0.25 + (f % 7) / 8);
    const model = join(dir, 'gain.onnx');
    await writeModelWithSidecar(model, binGainModel({ dimF, dimT: 256, gains }).bytes, {
      n_fft: 7680,
      dim_f: dimF,
      dim_t: 256,
      compensate: 1.0085,
      stem: 'Vocals',
    });
    const k = 200; // 200·44100/7680 = 1148.4375 Hz, exactly on bin 200
    const length = 4 * 44100;
    const tone = new Float32Array(length).map((_, i) => 0.5 * Math.sin((2 * Math.PI * k * i) / 7680));
    const input = await writeInput('tone.wav', { left: tone, right: tone.map((v) => -v) });
    const output = join(dir, 'gain-out.wav');
    const result = await runCli(['demix', input, output, '--model', model]);
    assert.equal(result.code, 0, result.stderr);
    const out = await readOutput(output);
    const expected = gains[k] * 1.0085;
    // away from the edges of the signal, where the zero context of the chunk spreads the tone over other bins
    const error = maxAbsDiff(
      out.left,
      tone.map((v) => v * expected),
      10000,
      length - 10000,
    );
    assert.ok(error < 1e-4, `filtered tone error ${error}`);
  });

  // Geometries the real models do not use, on purpose: the parity must hold for any model (spec §B).
  const parityCases = [
    {
      name: 'n_fft 2048 / dim_f 512 / dim_t 16, 2 shifts, denoise, SRS, 4 chunks',
      geometry: { nFft: 2048, dimF: 512, dimT: 16 },
      seconds: 3.3,
      args: ['--shifts', '2', '--srs', '--chunk-size', '50000'],
      options: { shifts: 2, denoise: true, srs: true, chunkSize: 50000 },
    },
    {
      name: 'n_fft 2560 / dim_f 1281 (Nyquist kept) / dim_t 12, SRS, no denoise',
      geometry: { nFft: 2560, dimF: 1281, dimT: 12 },
      seconds: 2.2,
      args: ['--srs', '--no-denoise'],
      options: { shifts: 1, denoise: false, srs: true, chunkSize: 500000 },
    },
    {
      // gen = 1024·8 − 3072 = 5120; chunks of 10·gen get the whole dummy segment of spec §F.5
      name: 'n_fft 3072 / dim_f 300 / dim_t 9, 2 shifts, denoise, chunks a multiple of gen',
      geometry: { nFft: 3072, dimF: 300, dimT: 9 },
      seconds: (5120 * 20) / 44100,
      args: ['--shifts', '2', '--chunk-size', '51200'],
      options: { shifts: 2, denoise: true, srs: false, chunkSize: 51200 },
    },
  ];
  for (const parity of parityCases) {
    it(`matches the plain reference implementation of spec §B within 1e-4: ${parity.name}`, async () => {
      const { nFft, dimF, dimT } = parity.geometry;
      const fixture = oddBreakingModel({ dimF, dimT, seed: 11 });
      const model = join(dir, `odd-${nFft}-${dimF}-${dimT}.onnx`);
      await writeModelWithSidecar(model, fixture.bytes, {
        n_fft: nFft,
        dim_f: dimF,
        dim_t: dimT,
        compensate: 1.021,
        stem: 'Vocals',
      });
      const song = testSong(Math.round(parity.seconds * 44100), nFft);
      const input = await writeInput(`parity-${nFft}.wav`, song);
      const output = join(dir, `parity-${nFft}-out.wav`);
      const result = await runCli(['demix', input, output, '--model', model, ...parity.args]);
      assert.equal(result.code, 0, result.stderr);
      const out = await readOutput(output);
      const reference = await referenceExtract(
        song.left,
        song.right,
        async (tensor, dims) => evalOddBreaking(fixture.params, tensor, { batch: dims[0], dimF, dimT }),
        parity.geometry,
        { ...parity.options, compensate: 1.021 },
      );
      assert.equal(out.left.length, song.left.length);
      const error = Math.max(maxAbsDiff(out.left, reference.left), maxAbsDiff(out.right, reference.right));
      assert.ok(error < 1e-4, `max |demix − reference| = ${error}`);
    });
  }
});

describe('stembot demix refuses bad input with a clear message, exit 1 and no output', () => {
  let model: string;
  before(async () => {
    model = join(dir, 'refuse.onnx');
    await writeModelWithSidecar(model, identityModel({ dimF: 512, dimT: 16 }).bytes, {
      n_fft: 2048,
      dim_f: 512,
      dim_t: 16,
      compensate: 1,
      stem: 'Vocals',
    });
  });

  async function expectRefusal(
    args: string[],
    pattern: RegExp,
    env: NodeJS.ProcessEnv = {},
    exitCode = 1,
  ): Promise<void> {
    const before = new Set(await readdir(dir));
    const result = await runCli(args, env);
    assert.equal(result.code, exitCode, `exit code ${result.code}; stderr: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace for input errors');
    const created = (await readdir(dir)).filter((name) => !before.has(name));
    assert.deepEqual(created, [], 'nothing written, not even a temp file');
  }

  it('empty file', async () => {
    const input = join(dir, 'empty.mp3');
    await writeFile(input, '');
    await expectRefusal(['demix', input, join(dir, 'o1.wav'), '--model', model], /empty/i);
  });

  it('a text file renamed .mp3', async () => {
    const input = join(dir, 'notes.mp3');
    await writeFile(input, 'these are my lyrics, not a song\n'.repeat(20));
    await expectRefusal(['demix', input, join(dir, 'o2.wav'), '--model', model], /audio|decode|read/i);
  });

  it('zero-length audio', async () => {
    const input = join(dir, 'silence0.wav');
    await writeFile(input, encodeWav({ left: new Float32Array(0), right: new Float32Array(0) }, 's16'));
    await expectRefusal(
      ['demix', input, join(dir, 'o3.wav'), '--model', model],
      /no audio|empty|zero|length/i,
    );
  });

  it('an 8-channel file', async () => {
    const input = join(dir, 'eight.wav');
    const { spawnSync } = await import('node:child_process');
    const made = spawnSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=1',
      '-filter_complex',
      '[0:a]asplit=8[a][b][c][d][e][f][g][h];[a][b][c][d][e][f][g][h]amerge=inputs=8[out]',
      '-map',
      '[out]',
      input,
    ]);
    assert.equal(made.status, 0, made.stderr?.toString());
    await expectRefusal(['demix', input, join(dir, 'o4.wav'), '--model', model], /8 audio channels/);
  });

  it('a duration over the configured maximum', async () => {
    const input = await writeInput('long.wav', testSong(3 * 44100));
    await expectRefusal(
      ['demix', input, join(dir, 'o5.wav'), '--model', model],
      /long, but the limit is 0:02/,
      {
        STEMBOT_MAX_DURATION_S: '2',
      },
    );
  });

  it('missing ffmpeg', async () => {
    const input = await writeInput('fine.wav', testSong(44100));
    await expectRefusal(['demix', input, join(dir, 'o6.wav'), '--model', model], /ffmpeg/i, {
      FFMPEG_PATH: '/nonexistent/ffmpeg',
    });
  });

  it('a model without parameters (no sidecar, hash not in the catalog)', async () => {
    const bare = join(dir, 'bare.onnx');
    await writeFile(bare, identityModel({ dimF: 512, dimT: 16 }).bytes);
    const input = await writeInput('fine2.wav', testSong(44100));
    await expectRefusal(
      ['demix', input, join(dir, 'o7.wav'), '--model', bare],
      /sidecar.*bare\.json.*UVR hash/s,
    );
  });

  it('a catalog model that is not installed names the pull command', async () => {
    const input = await writeInput('fine3.wav', testSong(44100));
    await expectRefusal(
      ['demix', input, join(dir, 'o8.wav'), '--model', 'kim-vocal-2'],
      /stembot models pull kim-vocal-2/,
      {
        STEMBOT_MODELS_DIR: join(dir, 'no-models-here'),
      },
    );
  });

  it('a sidecar that contradicts the graph', async () => {
    const wrong = join(dir, 'wrong.onnx');
    await writeModelWithSidecar(wrong, identityModel({ dimF: 512, dimT: 16 }).bytes, {
      n_fft: 2048,
      dim_f: 1024,
      dim_t: 16,
      compensate: 1,
      stem: 'Vocals',
    });
    const input = await writeInput('fine4.wav', testSong(44100));
    await expectRefusal(['demix', input, join(dir, 'o9.wav'), '--model', wrong], /dim_f/);
  });

  it('usage errors exit 2', async () => {
    await expectRefusal(['demix', 'a.wav'], /output/i, {}, 2);
    assert.equal(existsSync(join(dir, 'a.wav')), false);
  });
});
