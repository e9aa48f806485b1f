import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import {
  listDatasetTracks,
  loadDatasetTrack,
  type DatasetTrackSource,
} from '../../src/pipeline/analysis/stemsDataset.js';
import { decodeAudio } from '../../src/pipeline/audio/decode.js';
import { locateFfmpeg } from '../../src/pipeline/audio/ffmpeg.js';
import { SAMPLE_RATE, type Stereo } from '../../src/pipeline/audio/stereo.js';
import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { isStembotError, type StembotErrorCode } from '../../src/pipeline/errors.js';
import { testSong } from '../support/signals.js';

const run = promisify(execFile);
const tools = locateFfmpeg();
const limits = { maxDurationS: 60, maxChannels: 6 };
const SECONDS = 2;
const N = SECONDS * SAMPLE_RATE;
let dir: string;
const at = (...parts: string[]) => join(dir, ...parts);

/** The five MUSDB18 streams in stream order, each a pair of sines of its own (left f, right 1.5·f). */
const STREAMS = ['mixture', 'drums', 'bass', 'other', 'vocals'] as const;
const FREQUENCIES = [220, 310, 130, 470, 660];
const sources: Stereo[] = FREQUENCIES.map((f) => ({
  left: tone(f, 0.3),
  right: tone(1.5 * f, 0.2),
}));

function tone(frequency: number, peak: number): Float32Array {
  const x = new Float32Array(N);
  for (let i = 0; i < N; i++) x[i] = peak * Math.sin((2 * Math.PI * frequency * i) / SAMPLE_RATE);
  return x;
}

/** Normalised correlation at lag 0 over the first n samples (n = the shorter length). */
function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Σ parts, rounded to float32 after each addition (as the loader adds them). */
function sum(...parts: Stereo[]): Stereo {
  const n = parts[0].left.length;
  const add = (pick: (s: Stereo) => Float32Array) => {
    const out = new Float32Array(n);
    for (const part of parts) for (let i = 0; i < n; i++) out[i] = Math.fround(out[i] + pick(part)[i]);
    return out;
  };
  return { left: add((s) => s.left), right: add((s) => s.right) };
}

/** Writes `<folder>/<stem>.wav` (32-bit float) for each stem given. */
async function wavTrack(folder: string, stems: Partial<Record<string, Stereo>>): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (const [stem, audio] of Object.entries(stems)) {
    await writeFile(join(folder, `${stem}.wav`), encodeWav(audio!, 'f32'));
  }
}

/** Rejects with a StembotError of `code` whose message names every one of `mentions`. */
async function rejectsWith(promise: Promise<unknown>, code: StembotErrorCode, ...mentions: string[]) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isStembotError(error), `expected a StembotError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const text of mentions) assert.ok(error.message.includes(text), `"${error.message}" names ${text}`);
    return true;
  });
}

const hq = testSong(N, 11);
const hqStems = {
  mixture: testSong(N, 12),
  vocals: testSong(N, 13),
  drums: testSong(N, 14),
  bass: testSong(N, 15),
  other: testSong(N, 16),
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-dataset-'));
  await mkdir(at('root', 'train'), { recursive: true });
  await Promise.all(STREAMS.map((name, i) => writeFile(at(`${name}.wav`), encodeWav(sources[i], 'f32'))));
  const inputs = STREAMS.flatMap((name) => ['-i', at(`${name}.wav`)]);
  // a .stem.mp4 as MUSDB18 makes them (5 AAC streams); a 2-stream file whose stream 1 is mono (vocals' left); a 4-stream one
  const output = (options: string, file: string) => [...options.split(' '), file];
  await run(tools.ffmpeg, [
    ...['-hide_banner', '-v', 'error', '-y', ...inputs],
    ...output('-map 0 -map 1 -map 2 -map 3 -map 4 -c:a aac -b:a 256k', at('root', 'Artist - Song.stem.mp4')),
    ...output('-map 0 -map 4 -filter:a:1 pan=mono|c0=c0 -c:a aac -b:a 256k', at('two.mp4')),
    ...output('-map 0 -map 1 -map 2 -map 3 -c:a aac', at('four.stem.mp4')),
  ]);
  await wavTrack(at('root', 'train', 'Band - Tune'), { ...hqStems, accompaniment: hq });
  await wavTrack(at('hq', 'Parts - Only'), hqStems);
  await writeFile(at('root', 'notes.txt'), 'not a track');
  await writeFile(at('root', '.hidden.stem.mp4'), 'not a track either');
  // two folders down: not looked at
  await mkdir(at('root', 'train', 'deeper'), { recursive: true });
  await writeFile(at('root', 'train', 'deeper', 'lost.stem.mp4'), 'x');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeAudio audioStream', () => {
  let decoded: Stereo[];
  test('each stream of a .stem.mp4 correlates with its own source and with no other', async () => {
    decoded = await Promise.all(
      STREAMS.map(
        async (_, s) =>
          (await decodeAudio(tools, at('root', 'Artist - Song.stem.mp4'), limits, { audioStream: s })).audio,
      ),
    );
    for (const [s, audio] of decoded.entries()) {
      assert.ok(
        Math.abs(audio.left.length - N) < 1024,
        `stream ${s}: ${audio.left.length} samples, ${N} encoded`,
      );
      for (const [k, source] of sources.entries()) {
        const left = correlation(audio.left, source.left);
        const right = correlation(audio.right, source.right);
        if (k === s) {
          assert.ok(left > 0.999 && right > 0.999, `stream ${s} vs its source: ${left}, ${right}`);
        } else {
          assert.ok(
            Math.abs(left) < 0.01 && Math.abs(right) < 0.01,
            `stream ${s} vs source ${k}: ${left}, ${right}`,
          );
        }
      }
    }
  });

  test('no option is stream 0, sample for sample', async () => {
    const file = at('root', 'Artist - Song.stem.mp4');
    const plain = (await decodeAudio(tools, file, limits)).audio;
    assert.deepEqual(plain, decoded[0]);
  });

  test('a mono stream N is described by its own probe: upmixed to [x, x] at unit gain', async () => {
    const { audio, source } = await decodeAudio(tools, at('two.mp4'), limits, { audioStream: 1 });
    assert.equal(source.channels, 1, 'the probe describes stream 1, not stream 0 (stereo)');
    assert.deepEqual(audio.left, audio.right);
    const expected = sources[4].left;
    const gain = correlation(audio.left, expected) * Math.sqrt(energy(audio.left) / energy(expected));
    assert.ok(Math.abs(gain - 1) < 0.02, `gain ${gain} (ffmpeg's own upmix would give 0.707)`);
  });

  test('a stream the file does not have is refused, naming its number', async () => {
    await rejectsWith(
      decodeAudio(tools, at('two.mp4'), limits, { audioStream: 2 }),
      'INPUT_NO_AUDIO',
      'number 2',
    );
    await assert.rejects(decodeAudio(tools, at('two.mp4'), limits, { audioStream: -1 }), RangeError);
  });
});

function energy(x: Float32Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return e;
}

describe('listDatasetTracks', () => {
  test('finds .stem.mp4 files and WAV track folders here and one folder down, sorted by name', async () => {
    const tracks = await listDatasetTracks(at('root'));
    assert.deepEqual(
      tracks.map((t) => [t.name, t.layout]),
      [
        ['Artist - Song', 'stems'],
        ['train/Band - Tune', 'wav'],
      ],
    );
    assert.equal(tracks[0].path, at('root', 'Artist - Song.stem.mp4'));
    assert.deepEqual(
      (await listDatasetTracks(at('root', 'train'))).map((t) => t.name),
      ['Band - Tune', 'deeper/lost'],
      'a split folder itself; deeper/ is one folder down from there (two from root, so not listed above)',
    );
  });

  test('a missing, empty or trackless folder is a BAD_ARGUMENT naming it', async () => {
    await mkdir(at('empty'));
    await mkdir(at('trackless', 'sub'), { recursive: true });
    await writeFile(at('trackless', 'sub', 'song.mp3'), 'x');
    await rejectsWith(listDatasetTracks(at('nowhere')), 'BAD_ARGUMENT', at('nowhere'), 'not a folder');
    await rejectsWith(listDatasetTracks(at('mixture.wav')), 'BAD_ARGUMENT', 'not a folder');
    await rejectsWith(listDatasetTracks(at('empty')), 'BAD_ARGUMENT', at('empty'), 'empty');
    await rejectsWith(
      listDatasetTracks(at('trackless')),
      'BAD_ARGUMENT',
      at('trackless'),
      'No MUSDB18 track',
    );
  });
});

describe('loadDatasetTrack', () => {
  const stems = (): DatasetTrackSource => ({
    name: 'Artist - Song',
    layout: 'stems',
    path: at('root', 'Artist - Song.stem.mp4'),
  });

  test('.stem.mp4: mixture = stream 0, vocals = stream 4, accompaniment = streams 1 + 2 + 3', async () => {
    const track = await loadDatasetTrack(tools, stems(), { limits });
    assert.equal(track.name, 'Artist - Song');
    const length = track.vocals.left.length;
    for (const audio of [track.mixture, track.accompaniment]) {
      assert.equal(audio.left.length, length, 'all three the vocals length');
      assert.equal(audio.right.length, length, 'all three the vocals length');
    }
    const accompaniment = sum(sources[1], sources[2], sources[3]);
    const checks: [string, Stereo, Stereo][] = [
      ['mixture', track.mixture, sources[0]],
      ['vocals', track.vocals, sources[4]],
      ['accompaniment', track.accompaniment, accompaniment],
    ];
    for (const [what, audio, source] of checks) {
      const c = [correlation(audio.left, source.left), correlation(audio.right, source.right)];
      assert.ok(c[0] > 0.999 && c[1] > 0.999, `${what}: ${c}`);
    }
    assert.ok(Math.abs(correlation(track.accompaniment.left, sources[4].left)) < 0.01, 'no vocals in it');
  });

  test('WAV track folder with accompaniment.wav: the exact samples back', async () => {
    const [source] = await listDatasetTracks(at('root', 'train'));
    const track = await loadDatasetTrack(tools, source, { limits });
    assert.deepEqual(track.mixture, hqStems.mixture);
    assert.deepEqual(track.vocals, hqStems.vocals);
    assert.deepEqual(track.accompaniment, hq, 'accompaniment.wav, not drums + bass + other');
  });

  test('WAV track folder of parts: accompaniment = drums + bass + other (float32 sums)', async () => {
    const [source] = await listDatasetTracks(at('hq'));
    const track = await loadDatasetTrack(tools, source, { limits });
    assert.deepEqual(track.mixture, hqStems.mixture);
    assert.deepEqual(track.vocals, hqStems.vocals);
    assert.deepEqual(track.accompaniment, sum(hqStems.drums, hqStems.bass, hqStems.other));
  });

  test('a missing stem is an error naming the file', async () => {
    const wav = (name: string): DatasetTrackSource => ({ name, layout: 'wav', path: at('broken', name) });
    await wavTrack(at('broken', 'no vocals'), { mixture: hq, accompaniment: hq });
    await wavTrack(at('broken', 'no other'), { mixture: hq, vocals: hq, drums: hq, bass: hq });
    await wavTrack(at('broken', 'no mixture'), { vocals: hq, accompaniment: hq });
    await rejectsWith(
      loadDatasetTrack(tools, wav('no vocals')),
      'INPUT_MISSING',
      at('broken', 'no vocals', 'vocals.wav'),
    );
    await rejectsWith(
      loadDatasetTrack(tools, wav('no other')),
      'INPUT_MISSING',
      at('broken', 'no other', 'other.wav'),
    );
    await rejectsWith(loadDatasetTrack(tools, wav('no mixture')), 'INPUT_MISSING', 'mixture.wav');
    // the mixture is not needed when it is the sum of the stems
    const summed = await loadDatasetTrack(tools, wav('no mixture'), { mixture: 'sum' });
    assert.deepEqual(summed.mixture, sum(hq, hq), 'vocals + accompaniment');

    const four: DatasetTrackSource = { name: 'four', layout: 'stems', path: at('four.stem.mp4') };
    await rejectsWith(
      loadDatasetTrack(tools, four),
      'INPUT_NO_AUDIO',
      at('four.stem.mp4'),
      'stream 4, vocals',
    );
    await writeFile(at('garbage.stem.mp4'), 'This is not an MP4 file at all, just some text.');
    const garbage: DatasetTrackSource = { name: 'garbage', layout: 'stems', path: at('garbage.stem.mp4') };
    await rejectsWith(loadDatasetTrack(tools, garbage), 'INPUT_UNDECODABLE', at('garbage.stem.mp4'));
  });
});
