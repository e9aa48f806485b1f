import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelineEnv } from '../config/env.js';
import { StembotError } from '../pipeline/errors.js';
import { CATALOG_PATH, loadCatalog } from '../pipeline/models/catalog.js';
import { type DownloadProgress, downloadModel } from '../pipeline/models/download.js';
import {
  type ModelStatus,
  listModels,
  resolveCatalogIds,
  verifyModels,
} from '../pipeline/models/installedModels.js';
import type { CatalogEntry } from '../pipeline/models/modelParams.js';

export const MODELS_USAGE = `Usage: stembot models list [--json]
       stembot models pull <id>... | --all [--force]
       stembot models verify [id...] [--json]

  list     the catalog models with their install state, and the custom models in the models folder
           (an .onnx with a sidecar .json of the same name: n_fft, dim_f, dim_t, compensate, stem)
  pull     download catalog models (resumes an interrupted download), check size and UVR hash, install;
           an installed model that verifies is skipped unless --force
  verify   check installed catalog models (all, or the ones named) against the catalog's size and UVR hash

Options:
  --models-dir <dir>   where models live (default: STEMBOT_MODELS_DIR, else ./models)
  --catalog <file>     another catalog file of the same format (default: models/catalog.json)
  --json               machine-readable output (list, verify)

Environment:
  STEMBOT_MODEL_BASE_URL   a mirror: replaces everything before the file name in the catalog URLs
Models are downloaded only by \`stembot models pull\`, never while running a job.`;

const commonOptions = {
  'models-dir': { type: 'string' },
  catalog: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function modelsCommand(argv: string[]): Promise<number> {
  const [subcommand, ...rest] = argv;
  switch (subcommand) {
    case 'list':
      return listCommand(rest);
    case 'pull':
      return pullCommand(rest);
    case 'verify':
      return verifyCommand(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(MODELS_USAGE);
      return subcommand ? 0 : 2;
    default:
      throw new StembotError('BAD_ARGUMENT', `Unknown models command "${subcommand}"\n\n${MODELS_USAGE}`);
  }
}

interface Context {
  readonly modelsDir: string;
  readonly catalog: readonly CatalogEntry[];
}

function context(values: { 'models-dir'?: string; catalog?: string }): Context {
  const modelsDir = resolve(values['models-dir'] ?? loadPipelineEnv().STEMBOT_MODELS_DIR);
  return { modelsDir, catalog: loadCatalog(values.catalog ? resolve(values.catalog) : CATALOG_PATH) };
}

async function listCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, json: { type: 'boolean', default: false } },
  });
  if (values.help) return usage();
  if (positionals.length > 0) {
    throw new StembotError('BAD_ARGUMENT', `models list takes no arguments\n\n${MODELS_USAGE}`);
  }
  const { modelsDir, catalog } = context(values);
  const models = await listModels(modelsDir, catalog);
  if (values.json) {
    console.log(JSON.stringify({ modelsDir, models: models.map(toJson) }, null, 2));
    return 0;
  }
  const header = ['id', 'name', 'stem', 'n_fft/dim_f', 'status', 'path'];
  const rows = models.map((model) =>
    model.source === 'catalog'
      ? [
          model.entry.id,
          model.entry.name,
          model.entry.stem,
          `${model.entry.n_fft}/${model.entry.dim_f}`,
          model.installed ? 'installed' : model.partialBytes !== null ? partialLabel(model) : 'missing',
          model.installed ? model.path : '',
        ]
      : [
          model.id,
          model.sameAs ? `(custom, same as ${model.sameAs})` : '(custom)',
          model.params?.stem ?? '?',
          model.params ? `${model.params.n_fft}/${model.params.dim_f}` : '?',
          model.params ? 'custom' : `unusable: ${model.problem}`,
          model.path,
        ],
  );
  console.log(formatTable([header, ...rows]));
  const catalogModels = models.filter((model) => model.source === 'catalog');
  const installed = catalogModels.filter((model) => model.installed).length;
  const custom = models.length - catalogModels.length;
  console.log(
    `\n${installed} of ${catalogModels.length} catalog models installed in ${modelsDir}` +
      (custom > 0 ? `, ${custom} custom` : '') +
      (installed < catalogModels.length ? '; get one with `stembot models pull <id>`' : ''),
  );
  return 0;
}

function partialLabel(model: Extract<ModelStatus, { source: 'catalog' }>): string {
  const done = model.partialBytes ?? 0;
  const size = model.entry.size;
  return size ? `partial ${Math.floor((100 * done) / size)}%` : `partial ${(done / 1e6).toFixed(1)} MB`;
}

function toJson(model: ModelStatus): Record<string, unknown> {
  if (model.source === 'custom') return { ...model };
  const { entry, ...status } = model;
  return {
    ...status,
    id: entry.id,
    name: entry.name,
    file: entry.file,
    stem: entry.stem,
    n_fft: entry.n_fft,
    dim_f: entry.dim_f,
    dim_t: entry.dim_t,
    compensate: entry.compensate,
    uvr_hash: entry.uvr_hash,
    size: entry.size,
  };
}

async function pullCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...commonOptions,
      all: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage();
  if (values.all === positionals.length > 0) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `models pull takes model ids or --all (not both)\n\n${MODELS_USAGE}`,
    );
  }
  const { modelsDir, catalog } = context(values);
  const entries = values.all ? [...catalog] : resolveCatalogIds(positionals, catalog);
  const baseUrl = loadPipelineEnv().STEMBOT_MODEL_BASE_URL;
  const failures: string[] = [];
  for (const entry of entries) {
    const bar = new ByteProgressBar(entry.id);
    try {
      const result = await downloadModel(entry, modelsDir, {
        baseUrl,
        force: values.force,
        onProgress: (progress) => bar.update(progress),
      });
      bar.finish();
      if (result.status === 'already-installed') {
        console.log(`${entry.id}: already installed, verified (${result.path})`);
      } else {
        const rate = result.seconds > 0 ? result.transferred / 1e6 / result.seconds : 0;
        const resumed = result.resumedFrom > 0 ? `, resumed at ${megabytes(result.resumedFrom)} MB` : '';
        console.log(
          `${entry.id}: installed ${result.path} (${megabytes(result.bytes)} MB in ` +
            `${result.seconds.toFixed(1)} s, ${rate.toFixed(1)} MB/s${resumed}; UVR hash ${result.hash})`,
        );
      }
    } catch (error) {
      bar.finish();
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`${entry.id}: failed: ${reason}`);
      failures.push(entry.id);
    }
  }
  if (failures.length > 0) {
    console.error(`${failures.length} of ${entries.length} models failed: ${failures.join(', ')}`);
    return 1;
  }
  return 0;
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, json: { type: 'boolean', default: false } },
  });
  if (values.help) return usage();
  const { modelsDir, catalog } = context(values);
  const results = await verifyModels(modelsDir, { ids: positionals, catalog });
  const bad = results.filter((result) => result.status !== 'ok');
  if (values.json) {
    console.log(
      JSON.stringify(
        results.map(({ entry, ...result }) => ({ id: entry.id, ...result })),
        null,
        2,
      ),
    );
  } else if (results.length === 0) {
    console.log(`No catalog models installed in ${modelsDir}`);
  } else {
    for (const result of results) {
      const line = `${result.entry.id}: ${result.status === 'ok' ? 'ok' : result.status.toUpperCase()}`;
      if (result.status === 'ok') console.log(`${line} (UVR hash ${result.hash})`);
      else console.error(`${line}: ${result.problem} (${result.path})`);
    }
    if (bad.length > 0) {
      console.error(
        `${bad.length} of ${results.length} models failed verification; \`stembot models pull --force <id>\` ` +
          `downloads one again`,
      );
    }
  }
  return bad.length > 0 ? 1 : 0;
}

function usage(): number {
  console.log(MODELS_USAGE);
  return 0;
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Left-aligned columns, two spaces apart. */
function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `kim-vocal-2 ██████░░░░  45%  30.1/66.8 MB  12.3 MB/s`; without a known size, no bar. */
export function formatDownloadProgress(label: string, progress: DownloadProgress, seconds: number): string {
  const rate = seconds > 0 ? `${(progress.transferred / 1e6 / seconds).toFixed(1)} MB/s` : '';
  if (progress.total === null || progress.total === 0) {
    return `${label} ${megabytes(progress.done)} MB  ${rate}`.trimEnd();
  }
  const width = 30;
  const fraction = Math.min(progress.done / progress.total, 1);
  const filled = Math.round(fraction * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  return `${label} ${bar} ${percent}  ${megabytes(progress.done)}/${megabytes(progress.total)} MB  ${rate}`.trimEnd();
}

/**
 * The download's bar, on stderr and only on a terminal, at most every 100 ms. ProgressBar counts items; a
 * download wants megabytes and a rate.
 */
class ByteProgressBar {
  private readonly enabled: boolean;
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY);
  }

  update(progress: DownloadProgress): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (progress.done !== progress.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.drawn = true;
    const line = formatDownloadProgress(this.label, progress, (now - this.started) / 1000);
    this.stream.write(`\r${line}\x1b[K`); // \x1b[K clears what a longer previous line left
  }

  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
