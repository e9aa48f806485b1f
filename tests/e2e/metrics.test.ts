/**
 * `stembot metrics` end to end: WAV files in, BSS Eval v4 out, the same figures as bssEvalV4 on the same samples.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { bssEvalV4, type TargetScores } from '../../src/pipeline/analysis/bssEval.js';
import { fitLength, type Stereo } from '../../src/pipeline/audio/stereo.js';
import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { runCli } from '../support/cli.js';
import { noise } from '../support/dspGolden.js';

const SR = 44100;
const n = Math.round(2.5 * SR);

function stereoNoise(seed: number, length: number, gain: number): Stereo {
  return {
    left: noise(seed, length).map((v) => v * gain),
    right: noise(seed + 1, length).map((v) => v * gain),
  };
}

function plus(a: Stereo, b: Stereo, gain: number, length = a.left.length): Stereo {
  const one = (x: Float32Array, y: Float32Array): Float32Array =>
    Float32Array.from({ length }, (_, i) => x[i] + gain * y[i]);
  return { left: one(a.left, b.left), right: one(a.right, b.right) };
}

// vocals is silent in its second second: that frame is NaN (null in JSON) for both targets
const vocals = stereoNoise(1, n, 0.5);
vocals.left.fill(0, SR, 2 * SR);
vocals.right.fill(0, SR, 2 * SR);
const accompaniment = stereoNoise(3, n, 0.3);
// the vocals estimate is 1000 samples short: the CLI pads it, and says so
const vocalsEstimate = plus(vocals, accompaniment, 0.2, n - 1000);
const accompanimentEstimate = plus(accompaniment, stereoNoise(5, n, 0.3), 0.1);

let dir: string;
const file = (name: string): string => join(dir, `${name}.wav`);
const pairs = (): string[] => [
  '--reference',
  `vocals=${file('vocals')}`,
  '--reference',
  `accompaniment=${file('accompaniment')}`,
  '--estimate',
  `accompaniment=${file('accompaniment-estimate')}`,
  '--estimate',
  `vocals=${file('vocals-estimate')}`,
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-metrics-'));
  for (const [name, audio] of Object.entries({
    vocals,
    accompaniment,
    'vocals-estimate': vocalsEstimate,
    'accompaniment-estimate': accompanimentEstimate,
  })) {
    await writeFile(file(name), encodeWav(audio, 'f32'));
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stembot metrics', () => {
  let expected: TargetScores[];
  before(async () => {
    expected = await bssEvalV4(
      [vocals, accompaniment],
      [fitLength(vocalsEstimate, n), accompanimentEstimate],
    );
  });

  it('--json gives bssEvalV4 of the decoded files (NaN as null), notes the padding', async () => {
    const { code, stdout, stderr } = await runCli(['metrics', ...pairs(), '--json']);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /estimate "vocals" is 1000 samples \(0\.023 s\) shorter: zero-padded/);
    const json = JSON.parse(stdout) as { targets: Record<string, Record<string, unknown>> };
    assert.deepEqual(Object.keys(json.targets), ['vocals', 'accompaniment']);
    // JSON.stringify writes NaN as null; the parsed numbers are the doubles themselves
    const asJson = (s: TargetScores): unknown => JSON.parse(JSON.stringify(s));
    assert.deepEqual(json.targets.vocals, asJson(expected[0]));
    assert.deepEqual(json.targets.accompaniment, asJson(expected[1]));
    const frames = json.targets.vocals.frames as Record<string, number | null>[];
    assert.deepEqual(
      frames.map((f) => [f.time, f.duration, f.SDR === null]),
      [
        [0, 1, false],
        [1, 1, true],
      ],
      'two 1 s frames, the silent one null',
    );
    assert.deepEqual(Object.keys(frames[0]), ['time', 'duration', 'SDR', 'SIR', 'SAR', 'ISR']);
    assert.deepEqual(Object.keys(json.targets.vocals), ['SDR', 'SIR', 'SAR', 'ISR', 'globalSDR', 'frames']);
  });

  it('prints an aligned table of the medians and the global SDR', async () => {
    const { code, stdout, stderr } = await runCli(['metrics', ...pairs()]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0], /^target\s+SDR\s+SIR\s+SAR\s+ISR\s+global SDR$/);
    const fixed = (v: number): string => v.toFixed(2);
    for (const [i, name] of ['vocals', 'accompaniment'].entries()) {
      const cells = lines[i + 1].trim().split(/\s+/);
      const s = expected[i];
      assert.deepEqual(cells, [
        name,
        fixed(s.SDR),
        fixed(s.SIR),
        fixed(s.SAR),
        fixed(s.ISR),
        fixed(s.globalSDR),
      ]);
      assert.equal(lines[i + 1].length, lines[0].length, `row ${name} aligned with the header`);
    }
  });

  it('refuses misuse with exit code 2 and a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [[], /needs a --reference and an --estimate per target/],
      [['--reference', 'vocals', '--estimate', `vocals=${file('vocals')}`], /--reference takes NAME=FILE/],
      [
        ['--reference', `vocals=${file('vocals')}`, '--reference', `vocals=${file('accompaniment')}`],
        /--reference names "vocals" twice/,
      ],
      [
        ['--reference', `vocals=${file('vocals')}`, '--estimate', `drums=${file('vocals')}`],
        /"vocals" has a --reference but no --estimate; target "drums" has an --estimate but no --reference/,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(['metrics', ...args]);
      assert.equal(code, 2, `${args.join(' ')}: exit ${code}, ${stderr}`);
      assert.match(stderr, message, args.join(' '));
    }
  });
});
