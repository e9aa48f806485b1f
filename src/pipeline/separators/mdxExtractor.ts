import type { Stereo } from '../audio/stereo.js';
import type { InferenceThread } from '../mdx/inferenceClient.js';
import type { LoadedModelInfo } from '../mdx/inferenceProtocol.js';
import { geometryOf, type ResolvedModel } from '../models/resolveModel.js';
import { uvrHash } from '../models/uvrHash.js';
import type { ExtractPass, StemExtractor } from './stemExtractor.js';

/** An MDX-Net ONNX model as a recipe slot, run in the inference thread (which keeps the session loaded). */
export async function mdxExtractor(
  thread: InferenceThread,
  model: ResolvedModel,
): Promise<StemExtractor & { readonly loaded: LoadedModelInfo }> {
  const [loaded, hash] = await Promise.all([
    thread.loadModel(model.path, geometryOf(model.params)),
    uvrHash(model.path),
  ]);
  const { nFft, dimF, dimT } = loaded.geometry;
  return {
    loaded,
    cacheId: `mdx:${hash}:${nFft}/${dimF}/${dimT}:comp=${model.params.compensate}`,
    label: model.name,
    supportsSrs: true,
    async extract(
      audio: Stereo,
      pass: ExtractPass,
      onProgress?: (fraction: number) => void,
    ): Promise<Stereo> {
      const { audio: estimate } = await thread.extract(
        model.path,
        audio,
        { ...pass, compensate: model.params.compensate },
        onProgress && ((done, total) => onProgress(done / total)),
      );
      return estimate;
    },
  };
}
