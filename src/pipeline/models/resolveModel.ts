import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { StembotError } from '../errors.js';
import type { MdxGeometry } from '../mdx/geometry.js';
import { findByUvrHash, findCatalogEntry } from './catalog.js';
import { type ModelParams, modelParamsSchema } from './modelParams.js';
import { uvrHash } from './uvrHash.js';

/** A model ready to open: where its weights are and the parameters that go with them. */
export interface ResolvedModel {
  readonly path: string;
  /** catalog id, or the file name of a custom model */
  readonly name: string;
  readonly params: ModelParams;
  /** where the parameters came from */
  readonly paramsFrom: 'catalog' | 'sidecar' | 'uvr-hash';
}

export function geometryOf(params: ModelParams): MdxGeometry {
  return { nFft: params.n_fft, dimF: params.dim_f, dimT: params.dim_t };
}

/**
 * Resolves `--model`: a catalog id (or file / friendly name) installed in `modelsDir`, or a path to an .onnx file
 * whose parameters come from its sidecar JSON (`x.onnx` → `x.json`), else from the catalog row with the same UVR
 * hash. Anything else is an error that names what is missing.
 */
export async function resolveModel(spec: string, modelsDir: string): Promise<ResolvedModel> {
  const entry = findCatalogEntry(spec);
  const looksLikePath = spec.includes('/') || spec.includes('\\') || extname(spec) === '.onnx';
  if (entry && !(looksLikePath && existsSync(spec))) {
    const path = resolve(modelsDir, entry.file);
    if (!existsSync(path)) {
      throw new StembotError(
        'MODEL_NOT_FOUND',
        `Model "${entry.id}" is not installed in ${resolve(modelsDir)}: run \`stembot models pull ${entry.id}\``,
      );
    }
    return { path, name: entry.id, params: entry, paramsFrom: 'catalog' };
  }
  if (!looksLikePath) {
    throw new StembotError(
      'MODEL_NOT_FOUND',
      `Unknown model "${spec}": give a catalog id (\`stembot models list\`) or a path to an .onnx file`,
    );
  }
  const path = resolve(spec);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new StembotError('MODEL_NOT_FOUND', `Model file not found: ${path}`);
  }
  const sidecar = join(resolve(path, '..'), `${basename(path, extname(path))}.json`);
  if (existsSync(sidecar))
    return { path, name: basename(path), params: readSidecar(sidecar), paramsFrom: 'sidecar' };
  const hash = await uvrHash(path);
  const known = findByUvrHash(hash);
  if (known) return { path, name: known.id, params: known, paramsFrom: 'uvr-hash' };
  throw new StembotError(
    'MODEL_PARAMS_MISSING',
    `No parameters for ${path}: it has no sidecar ${sidecar} and its UVR hash ${hash} is not in the catalog. ` +
      `Write the sidecar as {"n_fft": 7680, "dim_f": 3072, "dim_t": 256, "compensate": 1.0, "stem": "Vocals"} ` +
      `with your model's values.`,
  );
}

function readSidecar(path: string): ModelParams {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new StembotError(
      'MODEL_PARAMS_MISSING',
      `The sidecar ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
  const parsed = modelParamsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new StembotError(
      'MODEL_PARAMS_MISSING',
      `The sidecar ${path} lacks valid model parameters (${problems.join('; ')}); it needs n_fft, dim_f, dim_t, compensate and stem`,
    );
  }
  return parsed.data;
}
