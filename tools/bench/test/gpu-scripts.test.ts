import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The GPU check's scripts run only on a machine with a GPU; these checks keep them from rotting here:
// they parse, and what pack.sh keeps of the installed packages still exists (a version that renames
// its files fails here, not on the GPU machine).
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const pack = readFileSync(here('../gpu/pack.sh'), 'utf8');

describe('GPU check scripts', () => {
  it('parse as bash', () => {
    for (const script of ['../gpu/pack.sh', '../gpu/run.sh']) execFileSync('bash', ['-n', here(script)]);
  });

  it("keep onnxruntime-web's files that Node loads, and Dawn's linux-x64 build", () => {
    const keep = [...pack.matchAll(/! -name '?(ort[\w.-]+)'?/g)].map((m) => m[1]!);
    expect(keep).toContain('ort.webgpu.bundle.min.mjs');
    expect(keep.length).toBe(6);
    for (const file of keep) expect(existsSync(here(`../node_modules/onnxruntime-web/dist/${file}`)), file).toBe(true);
    expect(pack).toMatch(/! -name linux-x64 /);
    expect(existsSync(here('../node_modules/webgpu/dist/linux-x64/dawn.node'))).toBe(true);
    expect(pack).toMatch(/! -path '\*\/linux\/x64'/);
    expect(existsSync(here('../node_modules/@staircase/trainer/node_modules/onnxruntime-node/bin/napi-v6/linux/x64'))).toBe(true);
  });

  it('run.sh starts the CLI the deployment holds', () => {
    const run = readFileSync(here('../gpu/run.sh'), 'utf8');
    const dist = /trainer=\$root\/app\/(\S+)/.exec(run)![1]!;
    expect(dist).toBe('node_modules/@staircase/trainer/dist');
    expect(run).toMatch(/staircase=\$trainer\/cli\.js/);
    // Stage 2 takes its models and merges their reports with these, from the deployed harness
    // (a direct dependency of this package, so `pnpm deploy` puts it in the app's node_modules).
    expect(/benchmark=\$root\/app\/(\S+)/.exec(run)![1]).toBe('node_modules/@staircase/benchmark/dist');
    expect(run).toMatch(/import \{ benchMarkdown, mergeBenchReports \} from '\$benchmark\/index\.js'/);
    expect(run).toMatch(/import \{ DEFAULT_BENCH_MODELS \} from '\$benchmark\/index\.js'/);
    type Manifest = { bin?: Record<string, string>; exports: { '.': { import: { default: string } } } };
    const pkg = JSON.parse(readFileSync(here('../../../apps/trainer/package.json'), 'utf8')) as Manifest;
    expect(pkg.bin!['staircase']).toBe('./dist/cli.js');
    expect(pkg.exports['.'].import.default).toBe('./dist/index.js');
    const harness = JSON.parse(readFileSync(here('../../../packages/benchmark/package.json'), 'utf8')) as Manifest;
    expect(harness.exports['.'].import.default).toBe('./dist/index.js');
    expect((JSON.parse(readFileSync(here('../package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies).toHaveProperty('@staircase/benchmark');
  });
});
