import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parse } from 'yaml';

/**
 * Docker does not run where the tests run, so the deployment files are checked for structure and for agreement
 * with the code: stage names, volumes, healthchecks, environment variables and the command paths.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; target?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  env_file?: string | string[];
  volumes?: string[];
  healthcheck?: { test: string[] | string };
  deploy?: {
    resources?: {
      reservations?: { devices?: { driver?: string; count?: number; capabilities?: string[] }[] };
    };
  };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  stop_grace_period?: string;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** FROM/AS stages of the Dockerfile, with line continuations joined and ARG defaults substituted into FROM. */
function parseDockerfile(text: string): { stages: Stage[]; args: Record<string, string> } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) {
      const image = from[1].replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
      stages.push({ name: from[2] ?? '', from: image, lines: [] });
      continue;
    }
    const arg = /^ARG\s+(\w+)=(\S+)$/i.exec(line);
    if (arg && stages.length === 0) args[arg[1]] = arg[2];
    stages.at(-1)?.lines.push(line);
  }
  return { stages, args };
}

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => entry.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

function srcFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return srcFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const compose = parse(read('docker-compose.yml')) as Compose;
const { stages } = parseDockerfile(read('Dockerfile'));
const stage = (name: string) => {
  const found = stages.find((s) => s.name === name);
  assert.ok(found, `Dockerfile has no stage "${name}"`);
  return found;
};
const service = (name: string) => {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service "${name}"`);
  return found;
};

describe('docker-compose.yml', () => {
  it('runs Redis with AOF and noeviction on a volume', () => {
    const redis = service('redis');
    assert.match(redis.image ?? '', /^redis:7/);
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
    assert.match(command, /--appendonly yes/);
    assert.match(command, /--appendfsync everysec/);
    assert.match(command, /--maxmemory-policy noeviction/);
    assert.ok(
      (redis.volumes ?? []).some((v) => v.endsWith(':/data')),
      'Redis data must live on a volume, or the AOF is lost with the container',
    );
  });

  it('reserves one NVIDIA GPU for the worker', () => {
    const devices = service('worker').deploy?.resources?.reservations?.devices ?? [];
    assert.equal(devices.length, 1);
    assert.equal(devices[0].driver, 'nvidia');
    assert.equal(devices[0].count, 1);
    // Compose refuses a device reservation without capabilities.
    assert.deepEqual(devices[0].capabilities, ['gpu']);
  });

  it('builds bot and worker from Dockerfile stages that exist', () => {
    for (const [name, target] of [
      ['bot', 'bot'],
      ['worker', 'worker'],
    ] as const) {
      const build = service(name).build;
      assert.ok(build, `${name} must be built, not pulled`);
      assert.equal(build.target, target);
      assert.ok(
        existsSync(join(ROOT, build.context, build.dockerfile ?? 'Dockerfile')),
        `${name}: no Dockerfile`,
      );
      stage(target);
    }
  });

  it('gives the worker the model and cache volumes its environment points at', () => {
    const worker = service('worker');
    const env = envOf(worker);
    const targets = (worker.volumes ?? []).map((v) => v.split(':')[1]);
    assert.equal(env.STEMBOT_DEVICE, 'cuda');
    assert.ok(
      targets.includes(env.STEMBOT_MODELS_DIR),
      `STEMBOT_MODELS_DIR ${env.STEMBOT_MODELS_DIR} is no volume`,
    );
    assert.ok(
      targets.includes(env.STEMBOT_CACHE_DIR),
      `STEMBOT_CACHE_DIR ${env.STEMBOT_CACHE_DIR} is no volume`,
    );
    assert.ok(worker.volumes?.includes('models:/app/models'), 'models volume');
    assert.ok(worker.volumes?.includes('cache:/app/cache'), 'cache volume');
  });

  it("outlasts the worker's own shutdown grace before Docker kills it", () => {
    const worker = service('worker');
    // worker.close() waits for the running job: Docker's default of 10 s would kill nearly every job.
    const grace = /^(\d+)m$/.exec(worker.stop_grace_period ?? '');
    assert.ok(grace, `stop_grace_period should be whole minutes, got ${worker.stop_grace_period}`);
    const killAfterS = Number(grace[1]) * 60;
    const schemaDefault = /STEMBOT_SHUTDOWN_GRACE_S:\s*positiveNumber\.default\((\d+)\)/.exec(
      read('src/config/env.ts'),
    )?.[1];
    const handBackAfterS = Number(envOf(worker).STEMBOT_SHUTDOWN_GRACE_S ?? schemaDefault ?? 0);
    assert.ok(handBackAfterS > 0, 'STEMBOT_SHUTDOWN_GRACE_S is neither set nor defaulted');
    assert.ok(
      killAfterS >= handBackAfterS + 15,
      `stop_grace_period ${killAfterS} s leaves no time after STEMBOT_SHUTDOWN_GRACE_S ${handBackAfterS} s`,
    );
  });

  it('declares every named volume it mounts', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const volume of svc.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.') || source.startsWith('/') || source.startsWith('~')) continue;
        assert.ok(declared.has(source), `${name} mounts undeclared volume "${source}"`);
      }
    }
  });

  it('gives every service a healthcheck and makes the apps wait for a healthy Redis', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      assert.ok(svc.healthcheck?.test && svc.healthcheck.test.length > 0, `${name} has no healthcheck`);
    }
    for (const name of ['bot', 'worker']) {
      assert.equal(service(name).depends_on?.redis?.condition, 'service_healthy');
      assert.equal(envOf(service(name)).REDIS_URL, 'redis://redis:6379');
      // The healthcheck knocks on the port the service is told to listen on.
      const port = envOf(service(name)).STEMBOT_HTTP_PORT;
      const test = [service(name).healthcheck?.test ?? []].flat().join(' ');
      assert.ok(
        test.includes(`127.0.0.1:${port}/healthz`),
        `${name} healthcheck misses port ${port}: ${test}`,
      );
    }
  });

  it('keeps the local Telegram Bot API server optional', () => {
    assert.deepEqual(service('telegram-bot-api').profiles, ['local-bot-api']);
    for (const name of ['redis', 'bot', 'worker']) assert.equal(service(name).profiles, undefined);
  });
});

describe('Dockerfile', () => {
  it('installs the CUDA 12 provider for the worker on a CUDA 12 + cuDNN runtime image', () => {
    const worker = stage('worker');
    assert.match(worker.from, /^nvidia\/cuda:12\.\d+(\.\d+)?-cudnn-runtime-ubuntu\d+\.\d+$/);
    const depsFrom = /COPY --from=(\S+).*\/node_modules/.exec(worker.lines.join('\n'))?.[1];
    assert.ok(depsFrom, 'the worker copies node_modules from a deps stage');
    const deps = stage(depsFrom).lines.join('\n');
    assert.match(deps, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(deps, /npm ci --omit=dev/);
    assert.match(worker.lines.join('\n'), /apt-get install[^\n]*\bffmpeg\b/);
  });

  it('builds the bot on Node 20 without the CUDA provider', () => {
    const bot = stage('bot');
    assert.match(bot.from, /^node:20/);
    const depsFrom = /COPY --from=(\S+).*\/node_modules/.exec(bot.lines.join('\n'))?.[1];
    assert.ok(depsFrom, 'the bot copies node_modules from a deps stage');
    assert.match(stage(depsFrom).lines.join('\n'), /ONNXRUNTIME_NODE_INSTALL=skip/);
  });

  it('runs each role as a non-root user with a healthcheck and the compiled CLI', () => {
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as {
      compilerOptions: Record<string, string>;
    };
    assert.equal(buildConfig.compilerOptions.rootDir, 'src');
    assert.equal(buildConfig.compilerOptions.outDir, 'dist');
    assert.match(stage('build').lines.join('\n'), /npm run build/);
    for (const role of ['bot', 'worker']) {
      const lines = stage(role).lines;
      const user = lines.filter((l) => /^USER\s/i.test(l)).at(-1);
      assert.ok(user && !/^USER\s+(root|0)\b/i.test(user), `${role} must not run as root`);
      assert.ok(
        lines.some((l) => /^HEALTHCHECK\s.*\/healthz/.test(l)),
        `${role} has no HEALTHCHECK on /healthz`,
      );
      const cmd = lines.filter((l) => /^CMD\s/.test(l)).at(-1) ?? '';
      assert.deepEqual(JSON.parse(cmd.replace(/^CMD\s+/, '')), ['node', 'dist/cli/bin.js', role]);
      // dist/cli/bin.js is what tsc makes of src/cli/bin.ts (rootDir src, outDir dist).
      assert.ok(existsSync(join(ROOT, 'src/cli/bin.ts')), 'src/cli/bin.ts is missing');
      assert.ok(
        lines.some((l) => /^COPY --from=build\s.*\/dist\s+\.\/dist$/.test(l)),
        `${role} lacks dist/`,
      );
    }
  });

  const roles = ['bot', 'worker'];
  const mainText = read('src/cli/main.ts');
  const missing = roles.filter((role) => !new RegExp(`^\\s*${role}:`, 'm').test(mainText));
  it('CMD roles are CLI commands', () => {
    assert.deepEqual(missing, [], 'every Dockerfile role is a command in src/cli/main.ts');
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
    const allowed = new Set(
      read('.dockerignore')
        .split('\n')
        .filter((l) => l.startsWith('!'))
        .map((l) => l.slice(1).trim()),
    );
    for (const s of stages) {
      for (const line of s.lines) {
        if (!/^COPY\s/.test(line) || /--from=/.test(line)) continue;
        const sources = line
          .split(/\s+/)
          .slice(1, -1)
          .filter((part) => !part.startsWith('--'));
        for (const source of sources) {
          assert.ok(existsSync(join(ROOT, source)), `${s.name}: COPY ${source} does not exist`);
          const blocked = ignored.some((pattern) => {
            const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}(/|$)`);
            return re.test(source);
          });
          assert.ok(
            !blocked || allowed.has(source),
            `${s.name}: COPY ${source} is excluded by .dockerignore`,
          );
        }
      }
    }
  });
});

describe('environment variables', () => {
  const schemaText = read('src/config/env.ts');
  const declaredElsewhere = srcFiles(join(ROOT, 'src')).map((file) => readFileSync(file, 'utf8'));
  const known = (name: string) =>
    new RegExp(`\\b${name}\\s*:`).test(schemaText) ||
    declaredElsewhere.some((text) => new RegExp(`\\b${name}\\s*:\\s*z\\.`).test(text));

  it('names only STEMBOT_* variables that a schema declares ', () => {
    const names = new Set<string>();
    for (const svc of Object.values(compose.services))
      for (const name of Object.keys(envOf(svc))) names.add(name);
    // Active and commented-out lines of .env.example alike.
    for (const match of read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)) names.add(match[1]);
    for (const match of read('Dockerfile').matchAll(/\b(STEMBOT_[A-Z0-9_]+)=/g)) names.add(match[1]);
    const stembot = [...names].filter((name) => name.startsWith('STEMBOT_'));
    assert.ok(stembot.length > 5, `too few STEMBOT_ variables found: ${stembot.join(', ')}`);
    const unknown = stembot.filter((name) => !known(name));
    assert.deepEqual(unknown, [], `not in any env schema: ${unknown.join(', ')}`);
  });

  it('lists every variable of the pipeline schema in .env.example, with no secret filled in', () => {
    const example = read('.env.example');
    for (const match of schemaText.matchAll(/^\s+([A-Z][A-Z0-9_]+):\s*z\./gm)) {
      assert.ok(new RegExp(`^#?\\s*${match[1]}=`, 'm').test(example), `.env.example lacks ${match[1]}`);
    }
    for (const secret of ['TELEGRAM_BOT_TOKEN', 'DISCORD_TOKEN', 'STEMBOT_LINK_SECRET']) {
      assert.ok(new RegExp(`^${secret}=$`, 'm').test(example), `${secret} must be listed and empty`);
    }
  });
});
