import type { Stereo } from '../audio/stereo.js';

/**
 * One model slot of the recipe: `Extract(model, audio)` of spec §A.1, compensation included. The MDX engine runs
 * an ONNX model (spec §B.6); the model-free engine needs no weights. The recipe does not know which it has.
 */
export interface StemExtractor {
  /** Everything about the engine that changes its output (weights hash, parameters): part of cache keys. */
  readonly cacheId: string;
  /** Shown in stats: a catalog id, a file name, or the engine's name. */
  readonly label: string;
  /** Whether the SRS pass (spec §D.3) means anything for this engine. */
  readonly supportsSrs: boolean;
  extract(audio: Stereo, pass: ExtractPass, onProgress?: (fraction: number) => void): Promise<Stereo>;
}

/** The per-pass settings of spec §B.4–B.6. */
export interface ExtractPass {
  readonly shifts: number;
  readonly denoise: boolean;
  readonly srs: boolean;
  readonly chunkSize: number;
}
