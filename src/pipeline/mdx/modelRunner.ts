import type { MdxGeometry } from './geometry.js';

/**
 * What the MDX inference needs of a model: run a [batch, 4, dim_f, dim_t] float32 tensor (spec §B.1) and return
 * the primary stem's spectrogram in the same layout. The ONNX implementation is onnxModel.ts; tests may pass
 * any function with this contract.
 */
export interface ModelRunner {
  readonly geometry: MdxGeometry;
  run(tensor: Float32Array, batch: number): Promise<Float32Array>;
}
