import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_KEY_MEANINGS, modelKeys, runConfigKeys } from '../src/config-keys.js';
import { formatConfigYaml } from '../src/config-yaml.js';
import { lineChartSvg } from '../src/plots.js';
import { escapeUnprintable } from '../src/printable.js';
import { KIND_FIELDS } from '../src/presets.js';
import { defaultRunDir } from '../src/run-dir.js';
import { cli, quickData, tmp } from './helpers.js';

const errors = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('staircase:'));

describe('version and help', () => {
  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  });

  // Options that take a value and have no default: where a model or file comes from, where output goes.
  const NO_DEFAULT = new Set(['--config', '--out', '--resume', '--run', '--checkpoint', '--onnx', '--prompt-file', '--markdown', '--backends', '--onnx-devices']);
  it.each(['train', 'eval', 'sample', 'export', 'info', 'config', 'bench'])('%s --help shows the default of every option that takes a value', async (command) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    // One entry per option: its flag line and the wrapped description lines under it.
    const options = r.stdout.split('Options:\n')[1]!.split(/\n(?= {2}-)/);
    const valued = options.filter((o) => /^ {2}(-\w, )?--[\w-]+ <\w[\w=-]*>/.test(o));
    expect(valued.length).toBeGreaterThan(2);
    for (const o of valued) {
      const flag = o.trim().split(/[ ,]/)[0]!;
      if (NO_DEFAULT.has(flag)) continue;
      expect(o.replace(/\s+/g, ' '), `${command} ${flag}`).toMatch(/default/);
    }
  });
});

describe('staircase config', () => {
  it('every key of the run config and of each model kind has a meaning', () => {
    const missing = [...runConfigKeys(), ...Object.keys(KIND_FIELDS).flatMap(modelKeys)].filter((k) => !CONFIG_KEY_MEANINGS[k]);
    expect(missing).toEqual([]);
  });

  it('prints YAML that parses to the resolved config, every key --set accepts with its meaning, and reads back with --config', async () => {
    const args = ['--preset', 'tiny', '--model', 'cached-staircase', '--data', 'random-walk', '--set', 'train.lr=0.004', '--set', 'data.task={"episodeLength":16}'];
    const yaml = await cli(['config', ...args]);
    expect(yaml.code, yaml.stderr).toBe(0);
    const json = JSON.parse((await cli(['config', ...args, '--json'])).stdout);
    expect(parseYaml(yaml.stdout)).toEqual(json);
    expect(json).toMatchObject({ preset: 'tiny', model: { kind: 'cached-staircase', cacheChunks: 2, dropout: 0 }, train: { lr: 0.004 }, data: { task: { episodeLength: 16 } } });
    const lines = yaml.stdout.split('\n');
    for (const key of [...runConfigKeys(), ...modelKeys('cached-staircase')].filter((k) => k !== 'model.vocabSize' && k !== 'model.seed')) {
      const [section, name] = key.includes('.') ? key.split('.') : [undefined, key];
      // A section's lines: after its header, up to the next top-level key.
      const from = section ? lines.indexOf(`${section}:`) + 1 : 0;
      const to = section ? lines.findIndex((l, i) => i >= from && /^\w/.test(l)) : lines.length;
      const line = lines.slice(from, to).find((l) => (section ? new RegExp(`^ {2}(# )?${name}:`) : new RegExp(`^${name}:`)).test(l));
      expect(line, key).toBeDefined();
      expect(line, key).toContain(`# ${CONFIG_KEY_MEANINGS[key]}`);
    }
    const file = join(tmp('config'), 'run.yaml');
    writeFileSync(file, yaml.stdout);
    const back = await cli(['config', '--config', file, '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toEqual(json);
  });

  it('formats without meanings as plain YAML', () => {
    expect(formatConfigYaml({ preset: 'tiny', model: { kind: 'staircase', dModel: 32, position: { type: 'rope', base: 10 } }, sample: { prompt: 'a: b' } }, { explain: false })).toBe(
      'preset: tiny\nmodel:\n  kind: staircase\n  dModel: 32\n  position: { type: rope, base: 10 }\nsample:\n  prompt: "a: b"\n',
    );
  });

  it('shortcuts --lr, --batch-size, --seed, --eval-every stand for --set; a later --set wins; a bad value is one line', async () => {
    const r = await cli(['config', '--preset', 'tiny', '--lr', '0.01', '--batch-size', '2', '--seed', '3', '--eval-every', '5', '--set', 'train.seed=4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).train).toMatchObject({ lr: 0.01, batch: 2, seed: 4, evalEvery: 5 });
    const bad = await cli(['config', '--lr', 'fast']);
    expect(bad.code).toBe(1);
    expect(errors(bad.stderr)).toEqual([expect.stringMatching(/--lr.*expected a number, got "fast"/)]);
  });
});

describe('train', () => {
  it('without --out: runs/KIND-DATA-<UTC time>; the config printed at start is YAML; shortcuts are refused with --resume; plots name the unit', async () => {
    const cwd = tmp('default-dir');
    const before = Date.now();
    const t = await cli(['train', '--preset', 'tiny', '--data', 'brown', '--steps', '2', '--lr', '0.002', ...quickData], {}, cwd);
    expect(t.code, t.stderr).toBe(0);
    const [name] = readdirSync(join(cwd, 'runs'));
    const m = /^staircase-brown-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$/.exec(name!);
    expect(m, name).not.toBeNull();
    const at = Date.UTC(Number(m![1]), Number(m![2]) - 1, Number(m![3]), Number(m![4]), Number(m![5]), Number(m![6]));
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(t.stderr).toMatch(/\nconfig \(staircase config explains every key\):\n {2}preset: tiny\n {2}model:\n {4}kind: staircase\n/);
    expect(t.stderr).toMatch(/\n {4}lr: 0\.002\n/);
    expect(Math.max(...t.stderr.split('\n').map((l) => l.length))).toBeLessThan(200);
    const dir = join(cwd, 'runs', name!);
    const svg = readFileSync(join(dir, 'plots', 'bits-per-token.svg'), 'utf8');
    expect(svg).toContain('Validation bits per byte');
    expect(svg).toContain('bits/byte');
    expect(readFileSync(join(dir, 'plots', 'loss.svg'), 'utf8')).toContain('Loss (nats per byte)');
    const resumed = await cli(['train', '--resume', dir, '--lr', '0.1', '--seed', '2']);
    expect(resumed.code).toBe(1);
    expect(errors(resumed.stderr)).toEqual([expect.stringMatching(/--lr, --seed would not apply: drop them/)]);
  });
});

describe('pieces', () => {
  it('defaultRunDir: a readable UTC time, a suffix when the name is taken', () => {
    const root = tmp('run-names');
    const at = new Date(Date.UTC(2026, 11, 4, 21, 30, 45, 123));
    expect(defaultRunDir('staircase', 'brown', at, root)).toBe(join(root, 'staircase-brown-20261204-213045'));
    mkdirSync(join(root, 'staircase-brown-20261204-213045'));
    expect(defaultRunDir('staircase', 'brown', at, root)).toBe(join(root, 'staircase-brown-20261204-213045-2'));
    mkdirSync(join(root, 'staircase-brown-20261204-213045-2'));
    expect(defaultRunDir('staircase', 'brown', at, root)).toBe(join(root, 'staircase-brown-20261204-213045-3'));
    expect(defaultRunDir('transformer-xl', 'text:/data/my corpus.txt,/data/b.txt', at, root)).toBe(join(root, 'transformer-xl-text-my-corpus-20261204-213045'));
    expect(defaultRunDir('ladder', 'algorithmic:3var', at, root)).toBe(join(root, 'ladder-algorithmic-3var-20261204-213045'));
    expect(defaultRunDir('ladder', 'enwik8:/x/enwik8', at, root)).toBe(join(root, 'ladder-enwik8-20261204-213045'));
  });

  it('step axes have integer ticks only', async () => {
    const svg = await lineChartSvg('t', 'bits/byte', [6, 7, 8, 9, 10, 11, 12].map((step) => ({ step, value: step / 3, series: 'valid' })));
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((x) => x[1]!);
    const steps = labels.slice(0, labels.indexOf('step'));
    expect(steps).toEqual(['6', '7', '8', '9', '10', '11', '12']);
    const two = await lineChartSvg('t', 'loss', [1, 2].map((step) => ({ step, value: step, series: 'train' })));
    const twoLabels = [...two.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((x) => x[1]!);
    expect(twoLabels.slice(0, twoLabels.indexOf('step'))).toEqual(['1', '2']);
  });

  it('escapeUnprintable escapes what a terminal would act on and keeps the rest', () => {
    expect(escapeUnprintable('é\u001b[31m\r\b\u0007\u007f\u009b\u202e\u2066 x\ty\n')).toBe('é\\x1b[31m\\x0d\\x08\\x07\\x7f\\x9b\\u202e\\u2066 x\ty\n');
    expect(escapeUnprintable('plain text, 日本語 🙂')).toBe('plain text, 日本語 🙂');
  });
});
