import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { StembotError } from '../errors.js';
import { type MdxGeometry, validateGeometry } from './geometry.js';
import type { ModelRunner } from './modelRunner.js';

export type DeviceChoice = 'auto' | 'cpu' | 'cuda';

export interface OnnxModelOptions {
  readonly device: DeviceChoice;
  /** intra-op threads for the CPU provider */
  readonly threads: number;
}

export interface OnnxModel extends ModelRunner {
  /** 'cuda' or 'cpu': the provider the session runs on */
  readonly provider: 'cuda' | 'cpu';
  release(): Promise<void>;
}

/**
 * Opens an MDX-Net ONNX model. The geometry declared by the model's parameters is checked against the input the
 * graph declares (spec §B.1: one float32 input [batch, 4, dim_f, dim_t]); a dim_t given as its log2 (UVR's
 * `mdx_dim_t_set` = 8 for 256) is read as such when the graph says so.
 */
export async function openOnnxModel(
  path: string,
  declared: MdxGeometry,
  options: OnnxModelOptions,
): Promise<OnnxModel> {
  const { session, provider } = await createSession(path, options);
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const geometry = reconcileGeometry(declared, inputShape(session), path);
  validateGeometry(geometry);
  const stride = 4 * geometry.dimF * geometry.dimT;
  return {
    geometry,
    provider,
    async run(tensor, batch) {
      const feed = new ort.Tensor('float32', tensor.subarray(0, batch * stride), [
        batch,
        4,
        geometry.dimF,
        geometry.dimT,
      ]);
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run({ [inputName]: feed });
      } catch (error) {
        throw new StembotError(
          'MODEL_INVALID',
          `The model ${path} failed to run: ${(error as Error).message}`,
        );
      }
      const output = results[outputName] as ort.Tensor;
      const data = output.data;
      if (!(data instanceof Float32Array) || data.length !== batch * stride) {
        throw new StembotError(
          'MODEL_INVALID',
          `The model ${path} returned ${output.type} [${output.dims.join(', ')}]; expected float32 [${batch}, 4, ${geometry.dimF}, ${geometry.dimT}]`,
        );
      }
      return data;
    },
    release: () => session.release(),
  };
}

function inputShape(session: ort.InferenceSession): ReadonlyArray<number | string> | undefined {
  const meta = session.inputMetadata?.[0];
  return meta && meta.isTensor ? meta.shape : undefined;
}

/** Reconciles declared parameters with the graph's input shape; fixed graph dims win over ambiguity, never over conflict. */
export function reconcileGeometry(
  declared: MdxGeometry,
  shape: ReadonlyArray<number | string> | undefined,
  path: string,
): MdxGeometry {
  if (!shape || shape.length === 0) return declared;
  const describe = `[${shape.join(', ')}]`;
  const fail = (why: string): never => {
    throw new StembotError('MODEL_INVALID', `The model ${path} takes input ${describe}, ${why}`);
  };
  if (shape.length !== 4) fail('but an MDX-Net model takes [batch, 4, dim_f, dim_t]');
  const [batch, channels, dimF, dimT] = shape;
  if (typeof batch === 'number' && batch !== 1 && batch > 0) fail('whose fixed batch size is not 1');
  if (typeof channels === 'number' && channels !== 4)
    fail('with ' + channels + ' channels instead of 4 (L re, L im, R re, R im)');
  if (typeof dimF === 'number' && dimF !== declared.dimF)
    fail(`but its parameters say dim_f = ${declared.dimF}`);
  let graphDimT = declared.dimT;
  if (typeof dimT === 'number') {
    if (dimT === declared.dimT) graphDimT = dimT;
    else if (dimT === 2 ** declared.dimT)
      graphDimT = dimT; // UVR stores dim_t as its log2
    else fail(`but its parameters say dim_t = ${declared.dimT}`);
  }
  return { ...declared, dimT: graphDimT };
}

async function createSession(
  path: string,
  options: OnnxModelOptions,
): Promise<{ session: ort.InferenceSession; provider: 'cuda' | 'cpu' }> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all', // ~25 % faster than 'basic' (performance notes)
    intraOpNumThreads: Math.max(1, options.threads),
    interOpNumThreads: 1,
  };
  const wantCuda = options.device === 'cuda' || (options.device === 'auto' && cudaProviderInstalled());
  if (wantCuda) {
    try {
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda'] });
      return { session, provider: 'cuda' };
    } catch (error) {
      if (options.device === 'cuda') {
        throw new StembotError(
          'MODEL_INVALID',
          `The CUDA provider could not open ${path}: ${(error as Error).message}`,
        );
      }
      // auto: fall back to the CPU; the caller logs which provider it got
    }
  }
  try {
    const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
    return { session, provider: 'cpu' };
  } catch (error) {
    throw new StembotError(
      'MODEL_INVALID',
      `${path} is not a model onnxruntime can load: ${(error as Error).message}`,
    );
  }
}

/** The CUDA provider library is only there when onnxruntime-node was installed with ONNXRUNTIME_NODE_INSTALL=cuda12. */
export function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const root = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin');
    for (const napi of readdirSync(root)) {
      const dir = join(root, napi, process.platform, process.arch);
      if (existsSync(join(dir, 'libonnxruntime_providers_cuda.so'))) return true;
    }
  } catch {
    // layout not as expected: treat as absent
  }
  return false;
}
