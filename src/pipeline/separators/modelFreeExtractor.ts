import { subtractStereo } from '../audio/stereo.js';
import { separateModelFree } from './modelFree.js';
import type { StemExtractor } from './stemExtractor.js';

/** Bump when the model-free engine's output changes (it is part of cache keys). */
const MODEL_FREE_VERSION = 2;

/**
 * The model-free engine in the recipe's two slots. It makes one separation, so:
 * - music slot: m = x − vocalEstimate(x) (an instrumental "model");
 * - vocal slot: the residual s = Silent(x − m) already is the vocal estimate, so it passes through — running the
 *   estimator again on its own output would only remove more of the voice.
 * The recipe's subtraction cascade, gates and invariants then hold unchanged.
 */
export function modelFreeSlots(): { music: StemExtractor; vocals: StemExtractor } {
  const music: StemExtractor = {
    cacheId: `model-free:${MODEL_FREE_VERSION}:instrumental`,
    label: 'model-free',
    supportsSrs: false,
    async extract(audio, _pass, onProgress) {
      const { vocals } = await separateModelFree(audio, { onProgress });
      return subtractStereo(audio, vocals);
    },
  };
  const vocals: StemExtractor = {
    cacheId: `model-free:${MODEL_FREE_VERSION}:residual`,
    label: 'model-free (residual)',
    supportsSrs: false,
    async extract(audio) {
      return { left: audio.left.slice(), right: audio.right.slice() };
    },
  };
  return { music, vocals };
}
