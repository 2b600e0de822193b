// Makes the page's demo model: a tiny Staircase trained on the bundled Brown corpus with the
// workspace's own CLI, exported to public/demo/ (model.onnx + model.segment.onnx). Skipped when
// the files exist and were made with these settings (delete public/demo to remake them).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'public', 'demo');
const cli = join(dirname(createRequire(import.meta.url).resolve('@staircase/trainer/package.json')), 'dist', 'cli.js');
const settings = { preset: 'tiny', model: 'staircase', data: 'brown', steps: 400, seed: 0, prompt: 'The ' };
const stamp = join(out, 'demo.json');

if (existsSync(stamp) && JSON.stringify(JSON.parse(readFileSync(stamp, 'utf8')).settings) === JSON.stringify(settings)) {
  console.log(`demo model: ${out} is up to date`);
} else {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build the workspace first (pnpm build)`);
  const run = join(here, '..', '.tmp', 'demo-run');
  rmSync(run, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const staircase = (...args) => {
    try {
      return execFileSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    } catch (e) {
      process.stderr.write(e.stderr ?? '');
      throw new Error(`demo model: staircase ${args[0]} failed (its output is above)`);
    }
  };
  staircase('train', '--preset', settings.preset, '--model', settings.model, '--data', settings.data, '--steps', String(settings.steps), '--seed', String(settings.seed), '--eval-every', '100', '--out', run);
  staircase('export', '--run', run, '--out', join(out, 'model.onnx'));
  const evalJson = JSON.parse(staircase('eval', '--run', run, '--split', 'valid', '--json'));
  writeFileSync(stamp, `${JSON.stringify({ settings, valid: evalJson }, null, 2)}\n`);
  rmSync(run, { recursive: true, force: true });
  console.log(`demo model: ${out}/model.onnx (${settings.preset} ${settings.model}, ${settings.steps} steps on ${settings.data})`);
}
