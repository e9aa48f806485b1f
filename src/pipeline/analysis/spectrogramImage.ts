import { rename, rm, writeFile } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import { createRealFft, type RealFft } from '../dsp/fft.js';
import { drawText, textHeight, textWidth } from './bitmapFont.js';
import { magmaTable, type Rgb } from './colourMap.js';
import { encodePng, fillRect, type RgbImage } from './png.js';

/** One stacked panel: a title and the audio it shows (44.1 kHz stereo; drawn from the mid channel). */
export interface SpectrogramPanel {
  readonly label: string;
  readonly audio: Stereo;
}

export interface SpectrogramOptions {
  /** Picture width in pixels, margins included. Default 1200. */
  readonly width?: number;
  /** Height in pixels of each panel, its title strip included. Default 240. */
  readonly heightPerPanel?: number;
  /** Frequency of the bottom plot row, Hz. Default 30. */
  readonly minHz?: number;
  /** Frequency of the top plot row, Hz (at most Nyquist, 22050). Default 16000. */
  readonly maxHz?: number;
  /** dB below the loudest value (over all panels) that maps to the darkest colour. Default 80. */
  readonly dbRange?: number;
}

/** Where things sit in the picture, all in pixels; row/column 0 is the top/left. */
export interface SpectrogramLayout {
  readonly width: number;
  readonly height: number;
  /** Text scale (font pixels → image pixels): 2 from 800 px wide, so labels survive a chat preview's shrink. */
  readonly fontScale: number;
  /** First plot column and the number of plot columns (the same for every panel). */
  readonly plotLeft: number;
  readonly plotWidth: number;
  /** Per panel: top of its title strip, first plot row, and the number of plot rows. */
  readonly panels: ReadonlyArray<{
    readonly top: number;
    readonly plotTop: number;
    readonly plotHeight: number;
  }>;
  /** First row of the time-axis strip under the last panel. */
  readonly axisTop: number;
  readonly minHz: number;
  readonly maxHz: number;
  readonly dbRange: number;
}

const DEFAULTS = { width: 1200, heightPerPanel: 240, minHz: 30, maxHz: 16000, dbRange: 80 } as const;

/**
 * FFT length, samples (93 ms at 44.1 kHz; bins 10.8 Hz apart). Long enough that the log axis still resolves
 * bass notes, short enough for a column of a short clip.
 */
const FFT_SIZE = 4096;
/** At most this many frames are averaged per column, so a 10-minute song costs the same as a 4-minute one. */
const MAX_FRAMES_PER_COLUMN = 8;

// One transform for every render: createRealFft allocates WebAssembly memory that is never freed, and the
// transform is synchronous, so sharing it is safe.
let sharedFft: Promise<RealFft> | undefined;

const BACKGROUND: Rgb = [18, 18, 22];
const TEXT: Rgb = [225, 225, 230];
const TICK: Rgb = [150, 150, 160];

/** The pixel geometry renderSpectrogram uses for `panelCount` panels and these options. */
export function spectrogramLayout(panelCount: number, options: SpectrogramOptions = {}): SpectrogramLayout {
  const width = options.width ?? DEFAULTS.width;
  const heightPerPanel = options.heightPerPanel ?? DEFAULTS.heightPerPanel;
  const minHz = options.minHz ?? DEFAULTS.minHz;
  const maxHz = options.maxHz ?? DEFAULTS.maxHz;
  const dbRange = options.dbRange ?? DEFAULTS.dbRange;
  if (!Number.isInteger(panelCount) || panelCount < 1)
    throw new Error('a spectrogram needs at least one panel');
  if (!(minHz > 0 && maxHz > minHz && maxHz <= SAMPLE_RATE / 2)) {
    throw new Error(`need 0 < minHz < maxHz ≤ ${SAMPLE_RATE / 2}, got ${minHz}..${maxHz}`);
  }
  if (!(dbRange > 0)) throw new Error(`dbRange must be positive, got ${dbRange}`);

  const fontScale = width >= 800 ? 2 : 1;
  const line = textHeight(fontScale);
  const tickLength = 3 * fontScale;
  // Room for the widest frequency label ("10 kHz"), its tick and a gap.
  const plotLeft = textWidth('10 kHz', fontScale) + tickLength + 4 * fontScale;
  const plotRight = 6 * fontScale;
  const titleStrip = line + 6 * fontScale;
  const axisStrip = tickLength + line + 6 * fontScale;
  const plotWidth = width - plotLeft - plotRight;
  const plotHeight = heightPerPanel - titleStrip;
  if (!Number.isInteger(width) || plotWidth < 16)
    throw new Error(`width ${width} leaves no room for the plot`);
  if (!Number.isInteger(heightPerPanel) || plotHeight < 16) {
    throw new Error(`heightPerPanel ${heightPerPanel} leaves no room for the plot`);
  }
  const panels = Array.from({ length: panelCount }, (_, p) => {
    const top = p * heightPerPanel;
    return { top, plotTop: top + titleStrip, plotHeight };
  });
  const axisTop = panelCount * heightPerPanel;
  return {
    width,
    height: axisTop + axisStrip,
    fontScale,
    plotLeft,
    plotWidth,
    panels,
    axisTop,
    minHz,
    maxHz,
    dbRange,
  };
}

/**
 * Frequency (Hz) at the centre of plot row `row` (0 = top) of a panel `plotHeight` rows tall: geometric steps
 * from maxHz at the top row to minHz at the bottom row.
 */
export function rowFrequency(row: number, plotHeight: number, minHz: number, maxHz: number): number {
  const fromBottom = (plotHeight - 1 - row) / (plotHeight - 1);
  return minHz * Math.pow(maxHz / minHz, fromBottom);
}

/** Fractional plot row (0 = top) whose centre is `hz`: the inverse of rowFrequency. */
export function frequencyRow(hz: number, plotHeight: number, minHz: number, maxHz: number): number {
  return plotHeight - 1 - ((plotHeight - 1) * Math.log(hz / minHz)) / Math.log(maxHz / minHz);
}

/**
 * Which FFT bins each plot row reads. A row narrower than a bin (low on the log axis) interpolates power
 * linearly between the two bins around its centre frequency (`count` 0, `frac` the weight of bin start + 1).
 * A wider row takes the strongest of the `count` bins whose centres lie in its band: the bands tile the axis,
 * so no bin is skipped, and a tone keeps its level wherever it sits (a mean would dim a 10 kHz tone by the
 * ~40 bins a row spans there).
 */
interface RowBins {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly frac: Float32Array;
}

function rowBins(plotHeight: number, minHz: number, maxHz: number): RowBins {
  const binHz = SAMPLE_RATE / FFT_SIZE;
  const lastBin = FFT_SIZE / 2;
  const start = new Int32Array(plotHeight);
  const count = new Int32Array(plotHeight);
  const frac = new Float32Array(plotHeight);
  const halfRow = Math.pow(maxHz / minHz, 1 / (2 * (plotHeight - 1))); // half a row, as a frequency ratio
  for (let row = 0; row < plotHeight; row++) {
    const centre = rowFrequency(row, plotHeight, minHz, maxHz) / binHz; // in bins
    const lo = centre / halfRow;
    const hi = centre * halfRow;
    if (hi - lo <= 1) {
      const b0 = Math.min(Math.floor(centre), lastBin - 1);
      start[row] = b0;
      frac[row] = centre - b0;
    } else {
      const first = Math.max(0, Math.ceil(lo));
      const last = Math.min(lastBin, Math.floor(hi));
      start[row] = first;
      count[row] = Math.max(1, last - first + 1);
    }
  }
  return { start, count, frac };
}

/**
 * Power per (column, row) of one panel's mid channel, column-major (index col·plotHeight + row), in units of
 * squared unnormalised FFT magnitude. Column c shows samples [c·n/W, (c+1)·n/W) of a signal n samples long
 * (n = the longest panel; a shorter one reads as silence past its end): the mean power of up to
 * MAX_FRAMES_PER_COLUMN Hann-windowed frames spread evenly over that span.
 */
function panelPower(
  audio: Stereo,
  length: number,
  layout: SpectrogramLayout,
  rows: RowBins,
  fft: RealFft,
): Float32Array {
  const { plotWidth } = layout;
  const plotHeight = layout.panels[0].plotHeight;
  const window = new Float32Array(FFT_SIZE);
  for (let i = 0; i < FFT_SIZE; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FFT_SIZE); // periodic Hann
  const frame = new Float32Array(FFT_SIZE);
  const spectrum = new Float32Array(FFT_SIZE);
  const bins = new Float64Array(FFT_SIZE / 2 + 1);
  const out = new Float32Array(plotWidth * plotHeight);
  const { left, right } = audio;
  const available = Math.min(left.length, right.length);

  const span = length / plotWidth; // samples per column
  const framesPerColumn = Math.max(1, Math.min(MAX_FRAMES_PER_COLUMN, Math.ceil(span / (FFT_SIZE / 2))));
  for (let col = 0; col < plotWidth; col++) {
    bins.fill(0);
    let framesWithSound = 0;
    for (let j = 0; j < framesPerColumn; j++) {
      const centre = Math.round((col + (j + 0.5) / framesPerColumn) * span);
      const begin = centre - FFT_SIZE / 2;
      // Window indices [from, to) lie inside the signal; the rest is zero padding.
      const from = Math.max(0, -begin);
      const to = Math.min(FFT_SIZE, available - begin);
      if (to <= from) continue;
      if (from > 0 || to < FFT_SIZE) frame.fill(0);
      let any = 0;
      for (let i = from; i < to; i++) {
        const mid = left[begin + i] + right[begin + i];
        any += mid * mid;
        frame[i] = 0.5 * mid * window[i];
      }
      if (any === 0) continue; // silent frame: all-zero power, no FFT needed
      framesWithSound++;
      fft.forward(frame, spectrum);
      // PFFFT ordered layout: [re(0), re(n/2), re(1), im(1), …]
      bins[0] += spectrum[0] * spectrum[0];
      bins[FFT_SIZE / 2] += spectrum[1] * spectrum[1];
      for (let k = 1; k < FFT_SIZE / 2; k++) {
        const re = spectrum[2 * k];
        const im = spectrum[2 * k + 1];
        bins[k] += re * re + im * im;
      }
    }
    if (framesWithSound === 0) continue;
    const base = col * plotHeight;
    for (let row = 0; row < plotHeight; row++) {
      const b0 = rows.start[row];
      const n = rows.count[row];
      let value: number;
      if (n === 0) {
        const f = rows.frac[row];
        value = (1 - f) * bins[b0] + f * bins[b0 + 1];
      } else {
        value = bins[b0];
        for (let k = b0 + 1; k < b0 + n; k++) if (bins[k] > value) value = bins[k];
      }
      out[base + row] = value / framesPerColumn;
    }
  }
  return out;
}

/** A tick step (seconds) from a 1-2-5-ish ladder that puts labels at least `minPixels` apart. */
function timeStep(duration: number, plotWidth: number, minPixels: number): number {
  const ladder = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
  for (const step of ladder) if ((step / duration) * plotWidth >= minPixels) return step;
  return ladder[ladder.length - 1];
}

/** "m:ss" once the clip reaches a minute, else seconds with the step's decimals ("2.5 s"). */
function formatTime(t: number, duration: number, step: number): string {
  if (duration >= 60) {
    const total = Math.round(t);
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  }
  if (t === 0) return '0'; // short, so it does not crowd the next label when pushed in from the edge
  const decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
  return `${t.toFixed(decimals)} s`;
}

function formatHz(hz: number): string {
  return hz >= 1000 ? `${hz / 1000} kHz` : `${hz} Hz`;
}

/** Frequency ticks, time ticks and the dB colour-bar key: everything outside the plots. */
function drawAxes(image: RgbImage, layout: SpectrogramLayout, duration: number, colours: Uint8Array): void {
  const { fontScale: s, plotLeft, plotWidth, minHz, maxHz } = layout;
  const line = textHeight(s);
  const tickLength = 3 * s;

  for (const panel of layout.panels) {
    // Minor ticks at 1–9 × each decade, labels on the decades (100 Hz, 1 kHz, 10 kHz).
    for (let decade = 10; decade <= 10000; decade *= 10) {
      for (let m = 1; m <= 9; m++) {
        const hz = decade * m;
        if (hz < minHz || hz > maxHz) continue;
        const row = Math.round(frequencyRow(hz, panel.plotHeight, minHz, maxHz));
        const y = panel.plotTop + row;
        const major = m === 1;
        const length = major ? tickLength : Math.ceil(tickLength / 2);
        fillRect(image, plotLeft - length, y, length, 1, major ? TEXT : TICK);
        if (major && decade >= 100) {
          const label = formatHz(hz);
          const x = plotLeft - tickLength - 2 * s - textWidth(label, s);
          const top = Math.min(
            Math.max(y - Math.floor(line / 2), panel.top),
            panel.plotTop + panel.plotHeight - line,
          );
          drawText(image, x, top, label, TEXT, s);
        }
      }
    }
  }

  // Time ticks under the last panel.
  const axisY = layout.axisTop;
  if (duration > 0) {
    const step = timeStep(duration, plotWidth, textWidth('00:00', s) + 16 * s);
    let lastLabelEnd = -Infinity;
    for (let i = 0; i * step <= duration + 1e-9; i++) {
      const t = i * step;
      const x = plotLeft + Math.min(plotWidth - 1, Math.round((t / duration) * plotWidth));
      fillRect(image, x, axisY, 1, tickLength, TEXT);
      const label = formatTime(t, duration, step);
      const w = textWidth(label, s);
      const labelX = Math.min(Math.max(x - Math.floor(w / 2), plotLeft), plotLeft + plotWidth - w);
      if (labelX < lastLabelEnd + 8 * s) continue; // the last label, pushed in from the right edge, may collide
      drawText(image, labelX, axisY + tickLength + 2 * s, label, TEXT, s);
      lastLabelEnd = labelX + w;
    }
  }

  // Colour-bar key, right-aligned in the first title strip: "-80 dB ▮▮▮▮ 0 dB".
  const keyY = layout.panels[0].top + 3 * s;
  const barWidth = 64 * s;
  const right = plotLeft + plotWidth;
  const zeroLabel = '0 dB';
  const rangeLabel = `-${layout.dbRange} dB`;
  const barLeft = right - textWidth(zeroLabel, s) - 3 * s - barWidth;
  drawText(image, right - textWidth(zeroLabel, s), keyY, zeroLabel, TEXT, s);
  drawText(image, barLeft - 3 * s - textWidth(rangeLabel, s), keyY, rangeLabel, TEXT, s);
  for (let i = 0; i < barWidth; i++) {
    const k = Math.round((i / (barWidth - 1)) * 255) * 3;
    fillRect(image, barLeft + i, keyY, 1, line, [colours[k], colours[k + 1], colours[k + 2]]);
  }
}

/**
 * Render stacked spectrograms, one panel per entry, top to bottom: log-frequency rows (minHz at the bottom,
 * maxHz at the top; see rowFrequency), time columns spanning the longest panel, colours from magma over
 * [−dbRange, 0] dB relative to the loudest (column, row) value across ALL panels, so a quiet stem looks quiet
 * beside the mix. Digital silence renders in the map's darkest colour. Costs ≈ width × (a few) FFTs of 4096 per
 * panel whatever the song's length.
 */
export async function renderSpectrogram(
  panels: ReadonlyArray<SpectrogramPanel>,
  options: SpectrogramOptions = {},
): Promise<RgbImage> {
  const layout = spectrogramLayout(panels.length, options);
  const { width, height, plotLeft, plotWidth, minHz, maxHz, dbRange } = layout;
  const plotHeight = layout.panels[0].plotHeight;
  const length = Math.max(...panels.map((p) => Math.min(p.audio.left.length, p.audio.right.length)));
  const rows = rowBins(plotHeight, minHz, maxHz);

  sharedFft ??= createRealFft(FFT_SIZE);
  const fft = await sharedFft;
  const powers: Float32Array[] = [];
  for (const panel of panels) {
    powers.push(panelPower(panel.audio, length, layout, rows, fft));
    await yieldToEventLoop(); // a chat bot shares this thread; let it breathe between panels
  }
  let loudest = 0;
  for (const power of powers)
    for (let i = 0; i < power.length; i++) if (power[i] > loudest) loudest = power[i];

  const image: RgbImage = { width, height, pixels: new Uint8Array(width * height * 3) };
  fillRect(image, 0, 0, width, height, BACKGROUND);
  const colours = magmaTable();
  const { pixels } = image;
  // level = 1 + dB/dbRange, so index = 255·(1 + 10·log10(p/loudest)/dbRange); p = 0 gives −∞ → clamped to 0.
  const perDecade = (255 * 10) / dbRange;
  const inverseLoudest = loudest > 0 ? 1 / loudest : 0;
  for (let p = 0; p < panels.length; p++) {
    const { top, plotTop } = layout.panels[p];
    drawText(image, plotLeft, top + 3 * layout.fontScale, panels[p].label, TEXT, layout.fontScale);
    const power = powers[p];
    for (let col = 0; col < plotWidth; col++) {
      for (let row = 0; row < plotHeight; row++) {
        const ratio = power[col * plotHeight + row] * inverseLoudest;
        let index = ratio > 0 ? Math.round(255 + perDecade * Math.log10(ratio)) : 0;
        if (!(index > 0)) index = 0;
        else if (index > 255) index = 255;
        const o = ((plotTop + row) * width + plotLeft + col) * 3;
        pixels[o] = colours[index * 3];
        pixels[o + 1] = colours[index * 3 + 1];
        pixels[o + 2] = colours[index * 3 + 2];
      }
    }
  }
  drawAxes(image, layout, length / SAMPLE_RATE, colours);
  return image;
}

/**
 * Render the panels and write them as a PNG at `path`. The bytes go to `${path}.tmp-<pid>` first and are renamed
 * over `path`, so a reader (the chat upload) never sees a half-written picture.
 */
export async function writeSpectrogramPng(
  path: string,
  panels: ReadonlyArray<SpectrogramPanel>,
  options: SpectrogramOptions = {},
): Promise<void> {
  const png = encodePng(await renderSpectrogram(panels, options));
  const temp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temp, png);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
