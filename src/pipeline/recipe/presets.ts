/**
 * Quality presets: how many passes each model makes. `best` is KaraFan v1.3's defaults exactly (spec §A.0):
 * bigshifts 12 → music 12 // 2 = 6 shifts, vocals 12, SRS 12 // 5 = 2 (spec §F.9), denoise on, chunk 500000.
 * On a 2-core CPU one model pass over a 4-minute song costs ~2 minutes (performance notes), so `fast` makes the
 * fewest passes that still follow the recipe and `balanced` sits in between.
 *
 * | preset   | music shifts | vocal shifts | SRS (shifts) | denoise | passes (×song length) |
 * | fast     | 1            | 1            | off          | off     | 2                     |
 * | balanced | 1            | 2            | on (1)       | on      | 2 + 4 + 2.5 = 8.5     |
 * | best     | 6            | 12           | on (2)       | on      | 12 + 24 + 5 = 41      |
 */
export type PresetName = 'fast' | 'balanced' | 'best';

export interface Preset {
  readonly name: PresetName;
  readonly musicShifts: number;
  readonly vocalShifts: number;
  readonly srs: boolean;
  readonly srsShifts: number;
  readonly denoise: boolean;
  readonly chunkSize: number;
}

const BIGSHIFTS = 12; // spec §A.0: bigshifts_MDX = 12

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  fast: {
    name: 'fast',
    musicShifts: 1,
    vocalShifts: 1,
    srs: false,
    srsShifts: 1,
    denoise: false,
    chunkSize: 500_000,
  },
  balanced: {
    name: 'balanced',
    musicShifts: 1,
    vocalShifts: 2,
    srs: true,
    srsShifts: 1,
    denoise: true,
    chunkSize: 500_000,
  },
  best: {
    name: 'best',
    musicShifts: Math.floor(BIGSHIFTS / 2),
    vocalShifts: BIGSHIFTS,
    srs: true,
    srsShifts: Math.floor(BIGSHIFTS / 5),
    denoise: true,
    chunkSize: 500_000,
  },
};

export function isPresetName(value: string): value is PresetName {
  return value in PRESETS;
}
