import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Stereo } from '../../src/pipeline/audio/stereo.js';
import { FileStepCache } from '../../src/pipeline/cache/stepCache.js';
import { runKarafanRecipe } from '../../src/pipeline/recipe/karafanRecipe.js';
import { PRESETS } from '../../src/pipeline/recipe/presets.js';
import type { StemExtractor } from '../../src/pipeline/separators/stemExtractor.js';

/** A stand-in "model": a fixed gain per channel, counting its calls. */
function gainExtractor(gain: number, name: string): StemExtractor & { calls: number } {
  const extractor = {
    cacheId: `gain:${gain}`,
    label: name,
    supportsSrs: false,
    calls: 0,
    async extract(audio: Stereo) {
      extractor.calls++;
      return { left: audio.left.map((v) => v * gain), right: audio.right.map((v) => v * gain) };
    },
  };
  return extractor;
}

/** 2 s loud noise, 3 s at about −70 dBFS, 2 s loud noise. */
function loudQuietLoud(): Stereo {
  const length = 7 * 44100;
  let seed = 12345;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const make = () =>
    new Float32Array(length).map((_, i) => {
      const quiet = i >= 2 * 44100 && i < 5 * 44100;
      return (quiet ? 0.0005 : 0.6) * next() + 0.01; // a DC offset for normalize to remove
    });
  return { left: make(), right: make() };
}

describe('KaraFan v1.3 recipe over stand-in extractors (spec §A.2)', () => {
  it('vocals + music = normalised input wherever the gates did not act; the quiet part is gated', async () => {
    const song = loudQuietLoud();
    const result = await runKarafanRecipe(song, {
      music: gainExtractor(0.7, 'music'),
      vocals: gainExtractor(0.9, 'vocals'),
      preset: PRESETS.fast,
    });
    const x = result.files['1']!;
    const vocals = result.files['4_F']!;
    const music = result.files['5_F']!;
    let worstLoud = 0;
    let gatedSamples = 0;
    for (let i = 0; i < x.left.length; i++) {
      const sum = vocals.left[i] + music.left[i];
      if (i < 2 * 44100 - 11025 || i >= 5 * 44100 + 11025)
        worstLoud = Math.max(worstLoud, Math.abs(sum - x.left[i]));
      if (vocals.left[i] === 0 && music.left[i] === 0) gatedSamples++;
    }
    assert.ok(worstLoud < 1e-6, `vocals + music differs from x_norm by ${worstLoud} in the loud parts`);
    assert.ok(gatedSamples > 44100, `the 3 s quiet part should be gated, ${gatedSamples} zero samples`);
    // the identity holds exactly in float arithmetic: music = x − vocals where ungated
    const bleed = result.files['6']!;
    const m = result.files['2']!;
    assert.ok(Math.abs(bleed.left[1000] - (music.left[1000] - m.left[1000])) < 1e-7, 'bleed = music − m');
  });

  it('normalises: one DC value removed, peak at −1 dBFS over both channels', async () => {
    const result = await runKarafanRecipe(loudQuietLoud(), {
      music: gainExtractor(0.5, 'm'),
      vocals: gainExtractor(1, 'v'),
      preset: PRESETS.fast,
    });
    const x = result.files['1']!;
    let peak = 0;
    let sum = 0;
    for (const channel of [x.left, x.right]) {
      for (const v of channel) {
        peak = Math.max(peak, Math.abs(v));
        sum += v;
      }
    }
    assert.ok(Math.abs(peak - 0.891251) < 1e-6, `peak ${peak}`);
    assert.ok(Math.abs(sum / (2 * x.left.length)) < 1e-6, `mean ${sum / (2 * x.left.length)}`);
  });

  it('a rerun is answered from the cache with identical output, and a different engine is not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stembot-cache-'));
    try {
      const cache = new FileStepCache(dir, 1 << 30);
      const music = gainExtractor(0.7, 'music');
      const vocals = gainExtractor(0.9, 'vocals');
      const song = loudQuietLoud();
      const first = await runKarafanRecipe(song, { music, vocals, preset: PRESETS.fast, cache });
      const second = await runKarafanRecipe(song, { music, vocals, preset: PRESETS.fast, cache });
      assert.equal(music.calls, 1, 'the music model ran once');
      assert.equal(vocals.calls, 1, 'the vocal model ran once');
      assert.deepEqual(second.cacheHits, ['music', 'vocals']);
      for (const key of ['1', '2', '3', '4_F', '5_F', '6'] as const) {
        assert.deepEqual(second.files[key], first.files[key], `file ${key} identical`);
      }
      const other = gainExtractor(0.71, 'other music');
      const third = await runKarafanRecipe(song, { music: other, vocals, preset: PRESETS.fast, cache });
      assert.equal(other.calls, 1, 'another model is never served a stale entry');
      assert.deepEqual(third.cacheHits, [], 'the vocal step sees another input, so it misses too');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the cache evicts the least recently used entries beyond its cap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stembot-cache-'));
    try {
      const entry = { left: new Float32Array(1000), right: new Float32Array(1000) }; // 8004 bytes on disk
      const cache = new FileStepCache(dir, 20000);
      await cache.set('a', entry);
      await new Promise((r) => setTimeout(r, 20));
      await cache.set('b', entry);
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(await cache.get('a'), 'a is still there and now recently used');
      await new Promise((r) => setTimeout(r, 20));
      await cache.set('c', entry); // 3 entries > 20000 bytes: the least recently used (b) goes
      assert.ok(await cache.get('a'), 'a was used recently and stays');
      assert.equal(await cache.get('b'), undefined, 'b was the least recently used');
      assert.ok(await cache.get('c'), 'c is new');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports progress from 0 to 1 through the steps', async () => {
    const seen: number[] = [];
    await runKarafanRecipe(loudQuietLoud(), {
      music: gainExtractor(0.7, 'music'),
      vocals: gainExtractor(0.9, 'vocals'),
      preset: PRESETS.fast,
      onProgress: ({ fraction }) => seen.push(fraction),
    });
    assert.equal(seen.at(-1), 1, 'ends at 1');
    assert.ok(
      seen.every((v, i) => i === 0 || v >= seen[i - 1]),
      `monotonic: ${seen.join(', ')}`,
    );
  });
});
