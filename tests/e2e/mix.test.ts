/**
 * `stembot mix` end to end: real files in (WAV written here), the real CLI, ffmpeg for the output, every
 * decision printed; and its usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { decodeAudio } from '../../src/pipeline/audio/decode.js';
import { locateFfmpeg } from '../../src/pipeline/audio/ffmpeg.js';
import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { runCli } from '../support/cli.js';
import { testSong } from '../support/signals.js';

let dir: string;
const vocal = () => join(dir, 'vocal.wav');
const backing = () => join(dir, 'backing.wav');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-mix-'));
  await writeFile(vocal(), encodeWav(testSong(5 * 44100, 41), 'f32'));
  await writeFile(backing(), encodeWav(testSong(7 * 44100, 42), 'f32'));
});

after(() => rm(dir, { recursive: true, force: true }));

describe('stembot mix', () => {
  it('writes the mix and prints every decision, one a line', async () => {
    const out = join(dir, 'mix.flac');
    const run = await runCli(['mix', vocal(), backing(), '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0], /^Vocal −\d+\.\d LUFS \(5\.0 s\), backing −\d+\.\d LUFS \(7\.0 s\)$/);
    for (const pattern of [
      /^EQ/,
      /^Vocal trimmed [+−]\d+\.\d dB to a −1\.0 dBFS peak before compression$/,
      /^Compression: /,
      /^Reverb: tempo \d+ BPM \(confidence \d\.\d\d\) → \d\.\d\d s, 60 % dry \/ 40 % wet$/,
      /^Level: vocal [+−]\d+\.\d dB → −0\.5 LU against the backing$/,
    ]) {
      assert.ok(
        lines.some((line) => pattern.test(line)),
        `printed ${pattern}:\n${run.stdout}`,
      );
    }
    assert.equal((await readFile(out)).subarray(0, 4).toString('latin1'), 'fLaC');
    const { audio } = await decodeAudio(locateFfmpeg(), out, { maxDurationS: 60, maxChannels: 2 });
    assert.equal(audio.left.length, 7 * 44100, 'as long as the backing (the vocal and its tail end earlier)');
  });

  it('--json gives the decisions; the guide preset is the vocal N dB down and nothing else', async () => {
    const out = join(dir, 'guide.wav');
    const run = await runCli([
      'mix',
      vocal(),
      backing(),
      '-o',
      out,
      '--preset',
      'guide',
      '--guide-db',
      '9',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as {
      output: string;
      decisions: { preset: string; vocalGainDb: number; compression: unknown; reverb: unknown };
      report: string[];
    };
    assert.equal(result.output, out);
    assert.equal(result.decisions.preset, 'guide');
    assert.equal(result.decisions.vocalGainDb, -9);
    assert.equal(result.decisions.compression, null);
    assert.equal(result.decisions.reverb, null);
    assert.ok(result.report.includes('Guide vocal: −9.0 dB, no other processing'), result.report.join(' | '));
  });

  it('refuses misuse with exit code 2 and a message that names the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['mix', vocal()], /mix takes a vocal and a backing track/],
      [['mix', vocal(), backing()], /mix needs -o/],
      [
        ['mix', vocal(), backing(), '-o', join(dir, 'x.aac')],
        /-o must end in \.flac, \.wav, \.mp3, \.ogg, \.opus/,
      ],
      [
        ['mix', vocal(), backing(), '-o', join(dir, 'x.wav'), '--preset', 'loud'],
        /--preset must be auto or guide/,
      ],
      [
        ['mix', vocal(), backing(), '-o', join(dir, 'x.wav'), '--preset', 'guide', '--guide-db', '50'],
        /--guide-db must be/,
      ],
      [
        ['mix', vocal(), backing(), '-o', join(dir, 'x.wav'), '--guide-db', '6'],
        /--guide-db applies to --preset guide only/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it('a vocal file that is not audio: exit 1 and the decoder’s reason', async () => {
    const fake = join(dir, 'notes.wav');
    await writeFile(fake, 'these are my lyrics, not a recording');
    const run = await runCli(['mix', fake, backing(), '-o', join(dir, 'y.wav')]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^error: /m);
  });
});
