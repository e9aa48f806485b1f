import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CatalogEntry, catalogSchema } from './modelParams.js';

/** models/catalog.json, found from both src/ (tsx) and dist/ (compiled): three levels up from this file. */
export const CATALOG_PATH = fileURLToPath(new URL('../../../models/catalog.json', import.meta.url));

let cached: readonly CatalogEntry[] | undefined;

export function loadCatalog(path = CATALOG_PATH): readonly CatalogEntry[] {
  if (path === CATALOG_PATH && cached) return cached;
  const parsed = catalogSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  if (path === CATALOG_PATH) cached = parsed.models;
  return parsed.models;
}

/** A catalog entry by id, file name, or friendly name (case-insensitive). */
export function findCatalogEntry(key: string, catalog = loadCatalog()): CatalogEntry | undefined {
  const wanted = key.toLowerCase();
  return catalog.find(
    (entry) =>
      entry.id === wanted || entry.file.toLowerCase() === wanted || entry.name.toLowerCase() === wanted,
  );
}

export function findByUvrHash(hash: string, catalog = loadCatalog()): CatalogEntry | undefined {
  return catalog.find((entry) => entry.uvr_hash === hash);
}
