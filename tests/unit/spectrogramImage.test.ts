/**
 * Spectrogram picture (issue 3 item 7) against independent facts: the PNG is read back with node:zlib and a
 * chunk walk of our own whose CRCs are checked by zlib.crc32 (or a published CRC); the plot puts a pure tone
 * on the row whose log-axis frequency is the tone's; silence is the colour map's darkest colour; levels are
 * relative to the loudest panel.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { drawText, textHeight, textWidth } from '../../src/pipeline/analysis/bitmapFont.js';
import { magma } from '../../src/pipeline/analysis/colourMap.js';
import { crc32, encodePng, type RgbImage } from '../../src/pipeline/analysis/png.js';
import {
  renderSpectrogram,
  spectrogramLayout,
  writeSpectrogramPng,
  type SpectrogramLayout,
} from '../../src/pipeline/analysis/spectrogramImage.js';
import type { Stereo } from '../../src/pipeline/audio/stereo.js';

const SR = 44100;

// ---------------------------------------------------------------------------------------------------------------
// An independent PNG reader: signature, chunk walk with CRC check, inflate, unfilter (all five filter types).

const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

function referenceCrc(bytes: Uint8Array): number {
  if (typeof zlibCrc32 === 'function') return zlibCrc32(bytes) >>> 0;
  return crc32(bytes); // only checked against the published IEND CRC below
}

function decodePng(png: Buffer): RgbImage {
  assert.deepEqual(
    [...png.subarray(0, 8)],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'PNG signature',
  );
  let offset = 8;
  const types: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    const stored = png.readUInt32BE(offset + 8 + length);
    assert.equal(stored, referenceCrc(png.subarray(offset + 4, offset + 8 + length)), `CRC of ${type}`);
    types.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual(
        [...data.subarray(8)],
        [8, 2, 0, 0, 0],
        'IHDR: 8-bit truecolour, deflate, no interlace',
      );
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  assert.equal(offset, png.length, 'chunks end exactly at the end of the file');
  assert.equal(types[0], 'IHDR', 'IHDR first');
  assert.equal(types[types.length - 1], 'IEND', 'IEND last');

  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  assert.equal(raw.length, (stride + 1) * height, 'one filter byte + one RGB row per scanline');
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? pixels[y * stride + i - 3] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      const c = i >= 3 && y > 0 ? pixels[(y - 1) * stride + i - 3] : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.ok(predictor !== undefined, `filter type ${filter} is one of 0..4`);
      pixels[y * stride + i] = (line[i] + predictor) & 0xff;
    }
  }
  return { width, height, pixels };
}

test('crc32 matches the published CRC of the IEND chunk type', () => {
  assert.equal(crc32(Buffer.from('IEND', 'latin1')), 0xae426082);
  if (typeof zlibCrc32 === 'function') {
    const bytes = Buffer.from('The quick brown fox jumps over the lazy dog');
    assert.equal(crc32(bytes), zlibCrc32(bytes) >>> 0);
  }
});

test('encodePng round-trips pixels through an independent decoder', () => {
  const width = 37;
  const height = 23;
  const pixels = new Uint8Array(width * height * 3);
  let seed = 7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      seed = (seed * 1103515245 + 12345) >>> 0;
      // Top: noise (favours None); middle: horizontal ramps (Sub); bottom: vertical stripes (Up).
      const v = y < 8 ? seed >>> 24 : y < 16 ? (x * 7) & 0xff : x % 2 ? 250 : 3;
      pixels[i] = v;
      pixels[i + 1] = (v * 3 + y) & 0xff;
      pixels[i + 2] = 255 - v;
    }
  }
  const decoded = decodePng(encodePng({ width, height, pixels }));
  assert.equal(decoded.width, width);
  assert.equal(decoded.height, height);
  assert.deepEqual(decoded.pixels, pixels);
});

test('encodePng rejects a pixel buffer of the wrong size', () => {
  assert.throws(() => encodePng({ width: 4, height: 4, pixels: new Uint8Array(47) }), /expected 48/);
});

test('magma runs from dark to light, clamps and survives NaN', () => {
  const lum = (rgb: readonly number[]): number => rgb[0] + rgb[1] + rgb[2];
  for (let k = 1; k <= 100; k++) {
    assert.ok(lum(magma(k / 100)) >= lum(magma((k - 1) / 100)), `lightness rises at ${k / 100}`);
  }
  assert.deepEqual(magma(-1), magma(0));
  assert.deepEqual(magma(2), magma(1));
  assert.deepEqual(magma(Number.NaN), magma(0));
});

test('drawText paints inside its advertised box only', () => {
  const image: RgbImage = { width: 80, height: 30, pixels: new Uint8Array(80 * 30 * 3) };
  const text = '1 kHz';
  const end = drawText(image, 5, 4, text, [255, 255, 255], 2);
  assert.equal(end, 5 + textWidth(text, 2));
  let painted = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.pixels[(y * image.width + x) * 3] === 0) continue;
      painted++;
      const inside = x >= 5 && x < 5 + textWidth(text, 2) && y >= 4 && y < 4 + textHeight(2);
      assert.ok(inside, `pixel (${x}, ${y}) lies inside the text box`);
    }
  }
  assert.ok(painted > 40, `some strokes were drawn (${painted} pixels)`);
});

// ---------------------------------------------------------------------------------------------------------------
// Spectrograms

function sine(hz: number, seconds: number, amplitude = 0.5): Stereo {
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / SR);
  return { left: x, right: x.slice() };
}

function silence(seconds: number): Stereo {
  const n = Math.round(seconds * SR);
  return { left: new Float32Array(n), right: new Float32Array(n) };
}

/** The documented row axis, written out here: row 0 = maxHz, last row = minHz, geometric in between. */
function hzOfRow(row: number, layout: SpectrogramLayout): number {
  const h = layout.panels[0].plotHeight;
  return layout.minHz * Math.pow(layout.maxHz / layout.minHz, (h - 1 - row) / (h - 1));
}

/** Mean R+G+B over the plot columns of each plot row of panel `p` (magma's lightness rises monotonically). */
function rowBrightness(image: RgbImage, layout: SpectrogramLayout, p: number): number[] {
  const { plotTop, plotHeight } = layout.panels[p];
  const out: number[] = [];
  for (let row = 0; row < plotHeight; row++) {
    let sum = 0;
    for (let col = 0; col < layout.plotWidth; col++) {
      const i = ((plotTop + row) * image.width + layout.plotLeft + col) * 3;
      sum += image.pixels[i] + image.pixels[i + 1] + image.pixels[i + 2];
    }
    out.push(sum / layout.plotWidth);
  }
  return out;
}

function brightestRow(image: RgbImage, layout: SpectrogramLayout, p: number): number {
  const rows = rowBrightness(image, layout, p);
  return rows.indexOf(Math.max(...rows));
}

function plotPixels(image: RgbImage, layout: SpectrogramLayout, p: number): number[][] {
  const { plotTop, plotHeight } = layout.panels[p];
  const out: number[][] = [];
  for (let row = 0; row < plotHeight; row++) {
    for (let col = 0; col < layout.plotWidth; col++) {
      const i = ((plotTop + row) * image.width + layout.plotLeft + col) * 3;
      out.push([image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]]);
    }
  }
  return out;
}

const OPTIONS = { width: 400, heightPerPanel: 200 } as const;

test('a 1 kHz tone lights the 1 kHz row; a 100 Hz tone a lower row near 100 Hz', async () => {
  const panels = [
    { label: 'KHZ', audio: sine(1000, 1) },
    { label: 'HUNDRED', audio: sine(100, 1) },
  ];
  const image = await renderSpectrogram(panels, OPTIONS);
  const layout = spectrogramLayout(2, OPTIONS);
  const rowK = brightestRow(image, layout, 0);
  const rowH = brightestRow(image, layout, 1);
  const hzK = hzOfRow(rowK, layout);
  const hzH = hzOfRow(rowH, layout);
  assert.ok(Math.abs(hzK / 1000 - 1) < 0.03, `1 kHz tone peaks at row ${rowK} = ${hzK.toFixed(1)} Hz`);
  assert.ok(Math.abs(hzH / 100 - 1) < 0.03, `100 Hz tone peaks at row ${rowH} = ${hzH.toFixed(1)} Hz`);
  assert.ok(rowH > rowK, `100 Hz (row ${rowH}) sits below 1 kHz (row ${rowK})`);
  // Equal-amplitude tones look equally loud: each peaks within 2 dB (Hann scalloping) of the top colour.
  const lum = (px: readonly number[]): number => px[0] + px[1] + px[2];
  const floor = lum(magma(1 - 2 / 80));
  for (const p of [0, 1]) {
    const peak = Math.max(...plotPixels(image, layout, p).map(lum));
    assert.ok(peak >= floor, `panel ${p} peaks at lightness ${peak}, want ≥ ${floor}`);
  }
});

test('silence renders as the darkest colour everywhere in the plot, with no NaN', async () => {
  const image = await renderSpectrogram([{ label: 'SILENCE', audio: silence(0.5) }], OPTIONS);
  const layout = spectrogramLayout(1, OPTIONS);
  const dark = magma(0);
  const pixels = plotPixels(image, layout, 0);
  assert.ok(pixels.length > 1000, `plot has pixels (${pixels.length})`);
  assert.ok(
    pixels.every((px) => px[0] === dark[0] && px[1] === dark[1] && px[2] === dark[2]),
    'every plot pixel is magma(0)',
  );
  // Empty audio is silence too.
  const empty = await renderSpectrogram([{ label: 'EMPTY', audio: silence(0) }], OPTIONS);
  assert.ok(
    plotPixels(empty, layout, 0).every((px) => px[0] === dark[0] && px[1] === dark[1] && px[2] === dark[2]),
    'an empty signal renders dark',
  );
});

test('levels are relative to the loudest panel: a stem 40 dB down sits halfway up an 80 dB scale', async () => {
  const loud = sine(1000, 1, 0.5);
  const quiet = sine(1000, 1, 0.005); // −40 dB
  const image = await renderSpectrogram(
    [
      { label: 'LOUD', audio: loud },
      { label: 'QUIET', audio: quiet },
    ],
    { ...OPTIONS, dbRange: 80 },
  );
  const layout = spectrogramLayout(2, OPTIONS);
  const lum = (px: readonly number[]): number => px[0] + px[1] + px[2];
  const brightest = (p: number): number => Math.max(...plotPixels(image, layout, p).map(lum));
  assert.equal(brightest(0), lum(magma(1)));
  const half = lum(magma(0.5));
  assert.ok(
    Math.abs(brightest(1) - half) <= 12,
    `quiet panel peaks at ${brightest(1)}, magma(0.5) is ${half}`,
  );
});

test('panels of different lengths share the longest time axis; the short one is dark past its end', async () => {
  const image = await renderSpectrogram(
    [
      { label: 'LONG', audio: sine(1000, 2) },
      { label: 'SHORT', audio: sine(1000, 1) },
    ],
    OPTIONS,
  );
  const layout = spectrogramLayout(2, OPTIONS);
  const { plotTop } = layout.panels[1];
  const row = brightestRow(image, layout, 0);
  const dark = magma(0);
  const at = (col: number): number[] => {
    const i = ((plotTop + row) * image.width + layout.plotLeft + col) * 3;
    return [image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]];
  };
  const w = layout.plotWidth;
  assert.notDeepEqual(at(Math.floor(w * 0.25)), dark, 'short panel is lit in its first half');
  assert.deepEqual(at(Math.floor(w * 0.9)), dark, 'short panel is dark past its end');
});

test('picture has the requested width and panel heights, and writeSpectrogramPng writes it atomically', async () => {
  const options = { width: 640, heightPerPanel: 150 };
  const layout = spectrogramLayout(3, options);
  assert.equal(layout.width, 640);
  assert.deepEqual(
    layout.panels.map((p) => p.top),
    [0, 150, 300],
  );
  assert.equal(layout.axisTop, 450);
  assert.ok(layout.height > 450, `a time-axis strip sits under the panels (height ${layout.height})`);

  const dir = await mkdtemp(join(tmpdir(), 'stembot-spectrogram-'));
  try {
    const path = join(dir, 'spectrogram.png');
    const audio = sine(440, 0.5);
    const panels = ['MIXTURE', 'VOCALS', 'MUSIC'].map((label) => ({ label, audio }));
    await writeSpectrogramPng(path, panels, options);
    assert.deepEqual(await readdir(dir), ['spectrogram.png'], 'no temp file left behind');
    const decoded = decodePng(await readFile(path));
    assert.equal(decoded.width, 640);
    assert.equal(decoded.height, layout.height);
    const rendered = await renderSpectrogram(panels, options);
    assert.deepEqual(decoded.pixels, rendered.pixels, 'the file holds the rendered picture');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad options are refused', async () => {
  await assert.rejects(renderSpectrogram([], OPTIONS), /at least one panel/);
  await assert.rejects(renderSpectrogram([{ label: 'X', audio: silence(0.1) }], { maxHz: 30000 }), /maxHz/);
  await assert.rejects(renderSpectrogram([{ label: 'X', audio: silence(0.1) }], { width: 50 }), /width/);
});
