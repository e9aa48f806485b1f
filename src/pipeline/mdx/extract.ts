import { fitLength, scaleStereo, type Stereo } from '../audio/stereo.js';
import { srsDown, srsUp } from '../dsp/resamplePoly.js';
import type { MdxStft } from '../dsp/stft.js';
import { demix, type DemixOptions } from './demix.js';
import type { ModelRunner } from './modelRunner.js';

/**
 * The Extract primitive of spec §B.6 (KaraFan v1.3 `Extract_with_Model`), compensation included.
 *
 * - plain: comp · (0.5·(−F(−a)) + 0.5·F(a)) with F = demix (all shifts), or comp · F(a) without denoise;
 * - SRS ("soprano mode", spec §D.3): comp · fit(D(Extract(U(a)))), U = resample 5/4, D = resample 4/5. U and D are
 *   linear, so 0.5·D(−F(U(−a))) + 0.5·D(F(U(a))) = D(0.5·(−F(−U(a))) + 0.5·F(U(a))): one resampling each way.
 *   The shift clamp sees the 1.25× longer signal, as in KaraFan (spec §F.9).
 */
export interface ExtractOptions extends DemixOptions {
  readonly srs: boolean;
  /** The model's volume compensation (spec §D.1), applied to the time-domain estimate. */
  readonly compensate: number;
}

export async function extract(
  audio: Stereo,
  runner: ModelRunner,
  stft: MdxStft,
  options: ExtractOptions,
): Promise<Stereo> {
  const length = audio.left.length;
  if (!options.srs) return scaleStereo(await demix(audio, runner, stft, options), options.compensate);
  const slowed = srsUp(audio);
  const estimate = srsDown(await demix(slowed, runner, stft, options));
  // spec §F.19: D(U(x)) can be a sample longer than x
  return scaleStereo(fitLength(estimate, length), options.compensate);
}

/** The SRS pass works on ceil(n·5/4) samples: the length its demix sees, for run counts. */
export function srsLength(length: number): number {
  return Math.ceil((length * 5) / 4);
}
