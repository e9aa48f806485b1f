/** An 8-bit RGB colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

/**
 * Matplotlib's "magma" sampled at 0, 0.1, …, 1 (8-bit sRGB). Magma is perceptually uniform and rises
 * monotonically in lightness, so equal dB steps look like equal steps and it still reads in greyscale;
 * linear interpolation between 11 anchors stays within a few levels of the full 256-entry table.
 */
const MAGMA_ANCHORS: readonly Rgb[] = [
  [0, 0, 4],
  [20, 14, 54],
  [59, 15, 112],
  [100, 26, 128],
  [140, 41, 129],
  [183, 55, 121],
  [222, 73, 104],
  [247, 112, 92],
  [254, 159, 109],
  [254, 207, 146],
  [252, 253, 191],
];

/** The colour of level `t` in 0..1 (0 = quietest, 1 = loudest); out-of-range and NaN values clamp to the ends. */
export function magma(t: number): Rgb {
  const clamped = t > 0 ? (t < 1 ? t : 1) : 0; // NaN fails `t > 0` and lands on 0
  const position = clamped * (MAGMA_ANCHORS.length - 1);
  const i = Math.min(Math.floor(position), MAGMA_ANCHORS.length - 2);
  const f = position - i;
  const a = MAGMA_ANCHORS[i];
  const b = MAGMA_ANCHORS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/**
 * The colour map as a 256-entry lookup table, RGB interleaved (length 768): entry k is magma(k / 255).
 * Rendering indexes it per pixel instead of interpolating.
 */
export function magmaTable(): Uint8Array {
  const table = new Uint8Array(256 * 3);
  for (let k = 0; k < 256; k++) table.set(magma(k / 255), k * 3);
  return table;
}
