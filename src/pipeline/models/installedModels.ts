import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { StembotError } from '../errors.js';
import { findByUvrHash, findCatalogEntry, loadCatalog } from './catalog.js';
import { type CatalogEntry, type ModelParams, modelParamsSchema } from './modelParams.js';
import { uvrHash } from './uvrHash.js';

/** Where an unfinished download of `file` lives until it is verified and renamed into place. */
export const PART_SUFFIX = '.part';

/** A catalog model and whether it is in the models folder. */
export interface CatalogModelStatus {
  readonly source: 'catalog';
  readonly entry: CatalogEntry;
  /** where the model is, or would be once pulled */
  readonly path: string;
  readonly installed: boolean;
  /** size on disk when installed */
  readonly bytes: number | null;
  /** size of an unfinished download (`<file>.part`), which the next pull resumes */
  readonly partialBytes: number | null;
}

/** An .onnx in the models folder that is no catalog file: parameters from its sidecar JSON, else its UVR hash. */
export interface CustomModelStatus {
  readonly source: 'custom';
  /** the file name, which is what `--model` takes (as a path) */
  readonly id: string;
  readonly path: string;
  readonly bytes: number;
  readonly params: ModelParams | null;
  readonly paramsFrom: 'sidecar' | 'uvr-hash' | null;
  /** the catalog model with the same UVR hash (a catalog model saved under another name, e.g. by KaraFan) */
  readonly sameAs: string | null;
  /** why `params` is null */
  readonly problem: string | null;
}

export type ModelStatus = CatalogModelStatus | CustomModelStatus;

/** The catalog with each model's install state, then the custom models found in `modelsDir`. */
export async function listModels(
  modelsDir: string,
  catalog: readonly CatalogEntry[] = loadCatalog(),
): Promise<ModelStatus[]> {
  const dir = resolve(modelsDir);
  const catalogRows: CatalogModelStatus[] = [];
  for (const entry of catalog) {
    const path = join(dir, entry.file);
    const bytes = await fileSize(path);
    const partialBytes = bytes === null ? await fileSize(path + PART_SUFFIX) : null;
    catalogRows.push({ source: 'catalog', entry, path, installed: bytes !== null, bytes, partialBytes });
  }
  const catalogFiles = new Set(catalog.map((entry) => entry.file));
  const customRows: CustomModelStatus[] = [];
  for (const name of await listDir(dir)) {
    if (extname(name).toLowerCase() !== '.onnx' || catalogFiles.has(name)) continue;
    const path = join(dir, name);
    const bytes = await fileSize(path);
    if (bytes === null) continue; // a folder named *.onnx, or a dangling link
    customRows.push(await describeCustomModel(path, bytes, catalog));
  }
  return [...catalogRows, ...customRows];
}

async function describeCustomModel(
  path: string,
  bytes: number,
  catalog: readonly CatalogEntry[],
): Promise<CustomModelStatus> {
  const base = { source: 'custom', id: basename(path), path, bytes } as const;
  const sidecar = join(resolve(path, '..'), `${basename(path, extname(path))}.json`);
  if ((await fileSize(sidecar)) !== null) {
    const parsed = parseSidecar(sidecar);
    return 'params' in parsed
      ? { ...base, params: parsed.params, paramsFrom: 'sidecar', sameAs: null, problem: null }
      : { ...base, params: null, paramsFrom: null, sameAs: null, problem: parsed.problem };
  }
  // No sidecar: resolveModel falls back to the UVR hash, so list says what it would find.
  const known = findByUvrHash(await uvrHash(path), catalog);
  if (known) return { ...base, params: known, paramsFrom: 'uvr-hash', sameAs: known.id, problem: null };
  return {
    ...base,
    params: null,
    paramsFrom: null,
    sameAs: null,
    problem: `no sidecar ${basename(sidecar)} and its UVR hash is not in the catalog`,
  };
}

function parseSidecar(path: string): { params: ModelParams } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { problem: `sidecar ${basename(path)} is not valid JSON: ${(error as Error).message}` };
  }
  const parsed = modelParamsSchema.safeParse(raw);
  if (parsed.success) return { params: parsed.data };
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  return { problem: `sidecar ${basename(path)} is invalid (${problems.join('; ')})` };
}

/** A file checked against its catalog row: the size (when the catalog has one) and the UVR hash. */
export interface FileCheck {
  readonly bytes: number;
  readonly hash: string;
  /** null when the file is the catalog's model; otherwise what differs, with expected and actual values */
  readonly problem: string | null;
}

export async function checkAgainstCatalog(path: string, entry: CatalogEntry): Promise<FileCheck> {
  const { size: bytes } = await stat(path);
  const hash = await uvrHash(path);
  const problems: string[] = [];
  if (entry.size !== null && bytes !== entry.size) {
    problems.push(`size ${bytes} bytes, expected ${entry.size}`);
  }
  if (hash !== entry.uvr_hash) problems.push(`UVR hash ${hash}, expected ${entry.uvr_hash}`);
  return { bytes, hash, problem: problems.length > 0 ? problems.join('; ') : null };
}

export interface VerifyResult {
  readonly entry: CatalogEntry;
  readonly path: string;
  readonly status: 'ok' | 'mismatch' | 'missing';
  readonly bytes: number | null;
  readonly hash: string | null;
  readonly problem: string | null;
}

/**
 * Checks installed catalog models (all of them, or the ones named by id / file / name) against the catalog.
 * A model named but not installed comes back as 'missing'; an unknown name is an error.
 */
export async function verifyModels(
  modelsDir: string,
  options: { readonly ids?: readonly string[]; readonly catalog?: readonly CatalogEntry[] } = {},
): Promise<VerifyResult[]> {
  const catalog = options.catalog ?? loadCatalog();
  const dir = resolve(modelsDir);
  const named = options.ids && options.ids.length > 0;
  const entries = named ? resolveCatalogIds(options.ids ?? [], catalog) : catalog;
  const results: VerifyResult[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.file);
    if ((await fileSize(path)) === null) {
      if (named) {
        results.push({ entry, path, status: 'missing', bytes: null, hash: null, problem: 'not installed' });
      }
      continue;
    }
    const check = await checkAgainstCatalog(path, entry);
    results.push({
      entry,
      path,
      status: check.problem === null ? 'ok' : 'mismatch',
      bytes: check.bytes,
      hash: check.hash,
      problem: check.problem,
    });
  }
  return results;
}

/** Catalog rows for ids (or file / friendly names), in order, without repeats; an unknown one is an error. */
export function resolveCatalogIds(ids: readonly string[], catalog: readonly CatalogEntry[]): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  for (const id of ids) {
    const entry = findCatalogEntry(id, catalog);
    if (!entry) {
      throw new StembotError(
        'MODEL_NOT_FOUND',
        `Unknown model "${id}": the catalog has ${catalog.map((known) => known.id).join(', ')}`,
      );
    }
    if (!entries.includes(entry)) entries.push(entry);
  }
  return entries;
}

/** Size of a regular file (links followed), or null when there is none. */
export async function fileSize(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
