import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { isStembotError, type StembotErrorCode } from '../../src/pipeline/errors.js';
import { decodeAudio } from '../../src/pipeline/audio/decode.js';
import { encodeAudio, FORMAT_EXTENSIONS, OUTPUT_FORMATS } from '../../src/pipeline/audio/encode.js';
import { locateFfmpeg } from '../../src/pipeline/audio/ffmpeg.js';
import type { InputLimits } from '../../src/pipeline/audio/limits.js';
import { probeAudio } from '../../src/pipeline/audio/probe.js';
import { SAMPLE_RATE, type Stereo } from '../../src/pipeline/audio/stereo.js';
import { decodeWav, encodeWav } from '../../src/pipeline/audio/wav.js';

const run = promisify(execFile);
const tools = locateFfmpeg();
const limits: InputLimits = { maxDurationS: 60, maxChannels: 6 };
let dir: string;

/** An input file made from ffmpeg lavfi sources, with output options (both split on spaces). */
interface Fixture {
  readonly name: string;
  readonly sources: readonly string[];
  readonly options?: string;
}

/** Every input is generated here, nothing is downloaded; one ffmpeg run writes all (its start-up is slow). */
async function generate(fixtures: readonly Fixture[]): Promise<void> {
  const inputs = fixtures.flatMap((f) => f.sources.flatMap((source) => ['-f', 'lavfi', '-i', source]));
  let next = 0;
  const outputs = fixtures.flatMap((f) => [
    ...f.sources.flatMap(() => ['-map', String(next++)]),
    ...(f.options?.split(' ') ?? []),
    at(f.name),
  ]);
  await run(tools.ffmpeg, ['-hide_banner', '-v', 'error', '-y', ...inputs, ...outputs]);
}

async function ffprobeStream(file: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(tools.ffprobe, [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_streams',
    file,
  ]);
  return JSON.parse(stdout).streams[0];
}

const at = (name: string): string => join(dir, name);

function sineStereo(seconds: number, peak = 0.5): Stereo {
  const n = Math.round(seconds * SAMPLE_RATE);
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = peak * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE);
    right[i] = 0.6 * peak * Math.sin((2 * Math.PI * 660 * i) / SAMPLE_RATE);
  }
  return { left, right };
}

function maxAbsDiff(a: Float32Array, b: Float32Array, length = Math.min(a.length, b.length)): number {
  let max = 0;
  for (let i = 0; i < length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function rms(x: Float32Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / x.length);
}

/** Rejects with a StembotError of `code` whose message reads as a sentence for a person. */
async function rejectsWith(
  promise: Promise<unknown>,
  code: StembotErrorCode | readonly StembotErrorCode[],
  ...mentions: string[]
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isStembotError(error), `expected a StembotError, got ${String(error)}`);
    assert.ok(
      ([] as StembotErrorCode[]).concat(code).includes(error.code),
      `${error.code}: ${error.message}`,
    );
    assert.match(error.message, /^[A-Z].{20,}\.$/s, 'a full sentence');
    assert.doesNotMatch(error.message, /ffprobe exited|ffmpeg exited|\bat \//, 'no tool output or stack');
    for (const text of mentions)
      assert.ok(error.message.includes(text), `"${error.message}" mentions ${text}`);
    return true;
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-audio-'));
  const sine = (f: number, rate: number, seconds: number): string =>
    `sine=frequency=${f}:sample_rate=${rate}:duration=${seconds}`;
  const testsrc = 'testsrc=duration=1:size=64x64:rate=10';
  await generate([
    {
      name: 'stereo-44k.wav',
      sources: ['aevalsrc=0.5*sin(2*PI*440*t)|0.3*sin(2*PI*660*t):s=44100:d=1'],
      options: '-c:a pcm_s24le',
    },
    { name: 'mono-48k.wav', sources: [sine(440, 48000, 1)] },
    {
      name: 'surround-5.1.wav',
      sources: ['aevalsrc=0.1|0.2|0.3|0.4|0.05|0.06:s=44100:d=0.5:channel_layout=5.1'],
      options: '-c:a pcm_f32le',
    },
    { name: 'eight.wav', sources: ['aevalsrc=0.1|0.1|0.1|0.1|0.1|0.1|0.1|0.1:s=44100:d=0.5'] },
    { name: 'video.mp4', sources: [testsrc, sine(440, 44100, 1)], options: '-c:v mpeg4 -c:a aac -shortest' },
    { name: 'silent-video.mp4', sources: [testsrc], options: '-c:v mpeg4' },
    { name: 'three-seconds.wav', sources: [sine(440, 44100, 3)] },
    // Chained Ogg (3 s then 1 s): ffprobe reports only the last link, ffmpeg decodes both, 4 s in all.
    { name: 'chain-a.ogg', sources: [sine(440, 48000, 3)], options: '-c:a libopus' },
    { name: 'chain-b.ogg', sources: [sine(440, 48000, 1)], options: '-c:a libopus' },
  ]);
  await Promise.all([
    writeFile(at('empty.mp3'), new Uint8Array(0)),
    writeFile(at('text.mp3'), 'This is a shopping list, not a song.\nmilk\neggs\n'),
    writeFile(
      at('playlist.mp3'),
      `#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n${at('three-seconds.wav')}\n#EXT-X-ENDLIST\n`,
    ),
    writeFile(
      at('header-only.wav'),
      encodeWav({ left: new Float32Array(0), right: new Float32Array(0) }, 's16'),
    ),
  ]);
  const chain = Buffer.concat([await readFile(at('chain-a.ogg')), await readFile(at('chain-b.ogg'))]);
  await writeFile(at('chained.ogg'), chain);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Tests in a suite are independent (own files); running them together hides ffmpeg's start-up latency.
describe('decodeAudio', { concurrency: true }, () => {
  test('44.1 kHz stereo: the same samples as the WAV read by wav.ts', async () => {
    const { audio, source } = await decodeAudio(tools, at('stereo-44k.wav'), limits);
    const reference = decodeWav(await readFile(at('stereo-44k.wav')));
    assert.equal(reference.format, 's24');
    assert.equal(audio.left.length, SAMPLE_RATE);
    assert.equal(audio.left.length, reference.audio.left.length);
    assert.ok(maxAbsDiff(audio.left, reference.audio.left) < 1e-6);
    assert.ok(maxAbsDiff(audio.right, reference.audio.right) < 1e-6);
    assert.ok(rms(audio.right) > 0.2 && rms(audio.left) > rms(audio.right));
    assert.deepEqual(source, {
      durationS: 1,
      channels: 2,
      sampleRate: 44100,
      codec: 'pcm_s24le',
      formatName: 'wav',
    });
  });

  test('48 kHz mono comes back at 44.1 kHz, duplicated at unit gain', async () => {
    const { audio, source } = await decodeAudio(tools, at('mono-48k.wav'), limits);
    assert.equal(source.channels, 1);
    assert.equal(source.sampleRate, 48000);
    assert.ok(Math.abs(audio.left.length - SAMPLE_RATE) <= 1, `length ${audio.left.length}`);
    assert.deepEqual(audio.left, audio.right);
    // lavfi's sine has amplitude 1/8; ffmpeg's own "-ac 2" upmix would give 1/8 · 0.707.
    const peak = audio.left.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(Math.abs(peak - 0.125) < 0.002, `peak ${peak}`);
  });

  test('5.1 is downmixed by the standard matrix: L = FL + 0.707·(C + BL), LFE dropped', async () => {
    const { audio, source } = await decodeAudio(tools, at('surround-5.1.wav'), limits);
    assert.equal(source.channels, 6);
    assert.equal(audio.left.length, SAMPLE_RATE / 2);
    const mid = audio.left.length >> 1;
    assert.ok(Math.abs(audio.left[mid] - (0.1 + Math.SQRT1_2 * (0.3 + 0.05))) < 1e-4, `L ${audio.left[mid]}`);
    assert.ok(
      Math.abs(audio.right[mid] - (0.2 + Math.SQRT1_2 * (0.3 + 0.06))) < 1e-4,
      `R ${audio.right[mid]}`,
    );
  });

  test('more channels than allowed are refused before decoding', async () => {
    await rejectsWith(decodeAudio(tools, at('eight.wav'), limits), 'INPUT_TOO_MANY_CHANNELS', '8', '6');
  });

  test('a video decodes its audio track', async () => {
    const { audio, source } = await decodeAudio(tools, at('video.mp4'), limits);
    assert.equal(source.codec, 'aac');
    assert.ok(Math.abs(audio.left.length - SAMPLE_RATE) < 2048, `length ${audio.left.length}`);
    assert.ok(rms(audio.left) > 0.05);
  });

  test('inputs that are not usable audio get their own codes', async () => {
    await rejectsWith(decodeAudio(tools, at('silent-video.mp4'), limits), 'INPUT_NO_AUDIO');
    await rejectsWith(decodeAudio(tools, at('empty.mp3'), limits), 'INPUT_EMPTY');
    await rejectsWith(decodeAudio(tools, at('text.mp3'), limits), 'INPUT_UNDECODABLE');
    await rejectsWith(decodeAudio(tools, at('missing.mp3'), limits), 'INPUT_MISSING');
    await rejectsWith(decodeAudio(tools, dir, limits), 'INPUT_MISSING');
    // A playlist naming a file of this server must not be read through.
    await rejectsWith(decodeAudio(tools, at('playlist.mp3'), limits), 'INPUT_UNDECODABLE');
  });

  test('a WAV with a header and no samples is INPUT_ZERO_LENGTH', async () => {
    // ffmpeg 5.1 probes it fine (then it decodes to nothing); another version could refuse it at the probe.
    await rejectsWith(decodeAudio(tools, at('header-only.wav'), limits), [
      'INPUT_ZERO_LENGTH',
      'INPUT_UNDECODABLE',
    ]);
  });

  test('too long: refused from the probe, with both durations in m:ss', async () => {
    const short: InputLimits = { ...limits, maxDurationS: 2 };
    await rejectsWith(decodeAudio(tools, at('three-seconds.wav'), short), 'INPUT_TOO_LONG', '0:03', '0:02');
    const { source } = await decodeAudio(tools, at('three-seconds.wav'), { ...limits, maxDurationS: 3 });
    assert.equal(source.durationS, 3);
  });

  test('too long: a probe that under-reports is caught on the decoded length', async () => {
    const probe = await probeAudio(tools, at('chained.ogg'));
    assert.ok(probe.durationS !== null && probe.durationS < 2, `probe says ${probe.durationS}`);
    const short: InputLimits = { ...limits, maxDurationS: 2 };
    await rejectsWith(decodeAudio(tools, at('chained.ogg'), short), 'INPUT_TOO_LONG', '0:02');
    // Within the limit, the buffer sized from the probe (1 s) grows to the real 4 s.
    const { audio } = await decodeAudio(tools, at('chained.ogg'), limits);
    assert.ok(Math.abs(audio.left.length - 4 * SAMPLE_RATE) < 2048, `length ${audio.left.length}`);
  });

  test('a missing ffmpeg is FFMPEG_MISSING with what to do', async () => {
    const missing = locateFfmpeg({ FFMPEG_PATH: '/nonexistent' });
    assert.deepEqual(missing, { ffmpeg: '/nonexistent', ffprobe: '/ffprobe' });
    await rejectsWith(decodeAudio(missing, at('stereo-44k.wav'), limits), 'FFMPEG_MISSING', 'FFMPEG_PATH');
  });
});

describe('locateFfmpeg', () => {
  test('PATH names by default, ffprobe beside FFMPEG_PATH, FFPROBE_PATH wins', () => {
    assert.deepEqual(locateFfmpeg({}), { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' });
    assert.deepEqual(locateFfmpeg({ FFMPEG_PATH: '/opt/ff/bin/ffmpeg-5.1' }), {
      ffmpeg: '/opt/ff/bin/ffmpeg-5.1',
      ffprobe: '/opt/ff/bin/ffprobe-5.1',
    });
    assert.deepEqual(locateFfmpeg({ FFMPEG_PATH: '/a/ffmpeg', FFPROBE_PATH: '/b/probe' }), {
      ffmpeg: '/a/ffmpeg',
      ffprobe: '/b/probe',
    });
  });
});

describe('wav.ts', () => {
  test('32-bit float round trip is bit-exact, out-of-range values included', () => {
    const left = Float32Array.from([0, -0, 1, -1, 1.5, -2, 1e-40, 0.1, -0.333, 3.4e38]);
    const right = left.map((v) => -v / 3);
    const back = decodeWav(encodeWav({ left, right }, 'f32'));
    assert.equal(back.format, 'f32');
    assert.equal(back.sampleRate, SAMPLE_RATE);
    assert.deepEqual(new Uint32Array(back.audio.left.buffer), new Uint32Array(left.buffer));
    assert.deepEqual(new Uint32Array(back.audio.right.buffer), new Uint32Array(right.buffer));
  });

  test('integer formats clip values ≥ 1 to the top code and round to nearest (ties to even)', () => {
    const left = Float32Array.from([
      1.2,
      1,
      -1,
      -1.2,
      0.5,
      0,
      1.4 / 32768,
      1.6 / 32768,
      2.5 / 32768,
      3.5 / 32768,
    ]);
    const stereo = { left, right: left.map((v) => -v) };
    const s16 = decodeWav(encodeWav(stereo, 's16')).audio;
    assert.deepEqual(
      Array.from(s16.left, (v) => v * 32768),
      [32767, 32767, -32768, -32768, 16384, 0, 1, 2, 2, 4],
    );
    assert.deepEqual(
      Array.from(s16.right, (v) => v * 32768),
      [-32768, -32768, 32767, 32767, -16384, 0, -1, -2, -2, -4],
    );
    const s24 = decodeWav(encodeWav(stereo, 's24'));
    assert.equal(s24.format, 's24');
    assert.equal(s24.audio.left[0], Math.fround(0.99999988)); // spec §E.2: 1.2 → 0.99999988
    assert.equal(s24.audio.left[0], 8388607 / 8388608);
    assert.equal(s24.audio.right[0], -1);
    assert.equal(s24.audio.left[6] * 8388608, 358); // 1.4·256 = 358.4
  });

  test('mono WAV reads as [x, x]', async () => {
    const mono = decodeWav(await readFile(at('mono-48k.wav')));
    assert.equal(mono.sampleRate, 48000);
    assert.deepEqual(mono.audio.left, mono.audio.right);
  });
});

describe('encodeAudio', { concurrency: true }, () => {
  const song = sineStereo(1);

  test('every format decodes back to the right length; MP3 is 320k CBR', async () => {
    const outDir = at('out');
    await mkdir(outDir);
    await Promise.all(
      OUTPUT_FORMATS.map(async (format) => {
        const file = join(outDir, `song-${format}${FORMAT_EXTENSIONS[format]}`);
        await encodeAudio(tools, song, file, format);
        // wav16 is read by wav.ts to save an ffmpeg run; header-only.wav shows ffmpeg reads our PCM header.
        const { audio } =
          format === 'wav16' ? decodeWav(await readFile(file)) : await decodeAudio(tools, file, limits);
        const lossy = format === 'mp3' || format === 'opus';
        const slack = lossy ? 64 : 0;
        assert.ok(Math.abs(audio.left.length - song.left.length) <= slack, `${format}: ${audio.left.length}`);
        if (!lossy) {
          const bound = { flac: 2 ** -22, wav: 0, wav16: 2 ** -15 }[format];
          assert.ok(maxAbsDiff(audio.left, song.left) <= bound, `${format} error`);
          assert.ok(maxAbsDiff(audio.right, song.right) <= bound, `${format} error`);
        } else {
          // A sanity bound only: the codecs' delay compensation keeps the waveform aligned.
          assert.ok(maxAbsDiff(audio.left, song.left) < 0.05, `${format} error`);
        }
      }),
    );
    assert.equal((await ffprobeStream(join(outDir, 'song-mp3.mp3'))).bit_rate, '320000');
    const names = await readdir(outDir);
    assert.deepEqual(names.sort(), [
      'song-flac.flac',
      'song-mp3.mp3',
      'song-opus.ogg',
      'song-wav.wav',
      'song-wav16.wav',
    ]);
  });

  test('FLAC is really 24-bit, clipped, with exactly the spec codes of a 24-bit WAV', async () => {
    const loud: Stereo = { left: song.left.map((v) => v * 2.5), right: song.right };
    const file = at('loud.flac');
    await encodeAudio(tools, loud, file, 'flac');
    const stream = await ffprobeStream(file);
    assert.equal(stream.codec_name, 'flac');
    assert.equal(stream.sample_fmt, 's32');
    assert.equal(stream.bits_per_raw_sample, '24');
    const { audio } = await decodeAudio(tools, file, limits);
    const wav24 = decodeWav(encodeWav(loud, 's24')).audio;
    assert.deepEqual(audio.left, wav24.left);
    assert.equal(Math.max(...audio.left), 8388607 / 8388608);
  });

  test('MP3 and Opus take a lower bitrate; lossless formats refuse one', async () => {
    const mp3 = at('low.mp3');
    await encodeAudio(tools, song, mp3, 'mp3', { bitrateKbps: 128 });
    assert.equal((await ffprobeStream(mp3)).bit_rate, '128000');
    const opus = at('low.ogg');
    await encodeAudio(tools, song, opus, 'opus', { bitrateKbps: 64 });
    const opusRate = Number((await ffprobeStream(opus)).bit_rate ?? NaN);
    assert.ok(Number.isNaN(opusRate) || Math.abs(opusRate - 64000) < 16000, `opus ${opusRate} bit/s`);
    await rejectsWith(encodeAudio(tools, song, at('x.flac'), 'flac', { bitrateKbps: 128 }), 'BAD_ARGUMENT');
    await rejectsWith(encodeAudio(tools, song, at('x.wav'), 'wav', { bitrateKbps: 128 }), 'BAD_ARGUMENT');
    await rejectsWith(
      encodeAudio(tools, song, at('x.mp3'), 'mp3', { bitrateKbps: 500 }),
      'BAD_ARGUMENT',
      '32–320',
    );
  });

  test('a failing encode leaves no file behind', async () => {
    await rejectsWith(
      encodeAudio(tools, song, at('no-such-dir/out.flac'), 'flac'),
      'OUTPUT_FAILED',
      'out.flac',
    );
    // The rename fails: a folder has the target's name. The complete temp file must go too.
    const blocked = at('blocked');
    await mkdir(join(blocked, 'out.wav'), { recursive: true });
    for (const format of ['wav', 'mp3'] as const) {
      await rejectsWith(encodeAudio(tools, song, join(blocked, 'out.wav'), format), 'OUTPUT_FAILED');
    }
    const noFfmpeg = locateFfmpeg({ FFMPEG_PATH: '/nonexistent' });
    await rejectsWith(encodeAudio(noFfmpeg, song, join(blocked, 'x.mp3'), 'mp3'), 'FFMPEG_MISSING');
    assert.deepEqual(await readdir(blocked), ['out.wav']);
  });

  test('an aborted encode stops ffmpeg and removes its partial file', async () => {
    const aborted = at('aborted');
    await mkdir(aborted);
    const controller = new AbortController();
    const encoding = encodeAudio(tools, sineStereo(30), join(aborted, 'long.mp3'), 'mp3', {
      signal: controller.signal,
    });
    // Abort once ffmpeg has started writing, so there is a partial temp file to clean up.
    for (let i = 0; i < 400 && (await readdir(aborted)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal((await readdir(aborted)).length, 1, 'the temp file appeared');
    controller.abort();
    await assert.rejects(encoding, { name: 'AbortError' });
    assert.deepEqual(await readdir(aborted), []);
  });
});
