import { StembotError } from '../errors.js';
import type { InferenceThread } from '../mdx/inferenceClient.js';
import { type ResolvedModel, resolveModel } from '../models/resolveModel.js';
import { mdxExtractor } from './mdxExtractor.js';
import { modelFreeSlots } from './modelFreeExtractor.js';
import type { StemExtractor } from './stemExtractor.js';

export type EngineChoice = 'auto' | 'mdx' | 'repet';

/** spec §A.0: the recipe's models. */
export const DEFAULT_MUSIC_MODEL = 'inst-hq-3';
export const DEFAULT_VOCAL_MODEL = 'kim-vocal-2';

export interface EngineRequest {
  readonly engine: EngineChoice;
  readonly musicModel?: string;
  readonly vocalModel?: string;
  readonly modelsDir: string;
  /** started only when an MDX model is used */
  readonly startThread: () => InferenceThread;
}

export interface ChosenEngine {
  readonly engine: 'mdx' | 'repet';
  readonly music: StemExtractor;
  readonly vocals: StemExtractor;
  /** 'cpu', 'cuda', or 'cpu (model-free)' */
  readonly device: string;
  /** a one-line notice for the user, e.g. why the model-free engine runs */
  readonly notice?: string;
  readonly thread?: InferenceThread;
}

/**
 * Picks the engine. `auto` runs the MDX recipe when both models resolve (installed catalog models or .onnx paths),
 * otherwise the model-free engine with a notice that names `stembot models pull`. Models given explicitly must
 * resolve: a typo is an error, never a silent fallback.
 */
export async function chooseEngine(request: EngineRequest): Promise<ChosenEngine> {
  const musicSpec = request.musicModel ?? DEFAULT_MUSIC_MODEL;
  const vocalSpec = request.vocalModel ?? DEFAULT_VOCAL_MODEL;
  const explicit = request.musicModel !== undefined || request.vocalModel !== undefined;
  if (request.engine === 'repet') {
    if (explicit) throw new StembotError('BAD_ARGUMENT', '--music-model / --vocal-model need the mdx engine');
    return { engine: 'repet', ...modelFreeSlots(), device: 'cpu (model-free)' };
  }
  let models;
  try {
    models = await Promise.all([
      resolveModel(musicSpec, request.modelsDir),
      resolveModel(vocalSpec, request.modelsDir),
    ]);
  } catch (error) {
    if (
      request.engine === 'mdx' ||
      explicit ||
      !(error instanceof StembotError) ||
      error.code !== 'MODEL_NOT_FOUND'
    ) {
      throw error;
    }
    return {
      engine: 'repet',
      ...modelFreeSlots(),
      device: 'cpu (model-free)',
      notice:
        `MDX models not installed: using the model-free engine. For the full KaraFan recipe run ` +
        `\`stembot models pull ${DEFAULT_MUSIC_MODEL} ${DEFAULT_VOCAL_MODEL}\`.`,
    };
  }
  const thread = request.startThread();
  try {
    const [music, vocals] = await Promise.all(
      models.map((model) =>
        mdxExtractor(thread, model).catch((error: unknown) => {
          throw damagedModelHint(error, model);
        }),
      ),
    );
    return { engine: 'mdx', music, vocals, device: music.loaded.provider, thread };
  } catch (error) {
    await thread.close();
    throw error;
  }
}

/** An installed catalog model that does not load was damaged on disk: say how to get it again. */
function damagedModelHint(error: unknown, model: ResolvedModel): unknown {
  if (!(error instanceof StembotError) || error.code !== 'MODEL_INVALID' || model.paramsFrom !== 'catalog') {
    return error;
  }
  return new StembotError(
    'MODEL_INVALID',
    `${error.message}\nThe installed file looks damaged: run \`stembot models pull ${model.name} --force\` ` +
      `to download it again (\`stembot models verify\` checks every installed model).`,
  );
}
