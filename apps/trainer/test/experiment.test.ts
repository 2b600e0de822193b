import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '@staircase/data';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/index.js';
import { CLI, cli, tmp } from './helpers.js';

/** Two tiny models × 2 seeds on a short random walk: seconds per run on the CPU backend. */
const TINY = `
description: two tiny models on a short random walk
preset: tiny
backend: cpu
data:
  spec: random-walk
  task: { episodeLength: 16 }
  episodes: { train: 40, valid: 9, test: 9 }
train: { steps: 24, evalEvery: 6, checkpointEvery: 3, evalBatches: 2 }
models:
  xl: { kind: transformer-xl, memory: 8 }
  stair: { kind: staircase, chunk: 4, passes: 2 }
seeds: [0, 1]
`;

const RUNS = [
  ['xl', 0],
  ['xl', 1],
  ['stair', 0],
  ['stair', 1],
] as const;

/** What must not depend on interruptions: everything but timings, the commit and the machine. */
function comparable(dir: string, model: string, seed: number): unknown {
  const s = JSON.parse(readFileSync(join(dir, 'tiny', model, `seed-${seed}`, 'summary.json'), 'utf8'));
  const { wallSeconds: _w, commit: _c, machine: _m, ...rest } = s;
  return rest;
}

function experimentDir(): { dir: string; file: string } {
  const dir = tmp('experiment');
  const file = join(dir, 'tiny.yaml');
  writeFileSync(file, TINY);
  return { dir, file };
}

describe('staircase experiment', () => {
  it('a killed experiment, run again, finishes with the same summaries as an uninterrupted one; the report is written', async () => {
    const { dir, file } = experimentDir();
    const straight = await cli(['experiment', 'run', file, '--parallel', '2', '--runs', join(dir, 'a')]);
    expect(straight.code, straight.stderr).toBe(0);
    expect(straight.stdout).toMatch(/4 runs finished/);

    // Kill the whole process group (runner and its children) once a run has checkpointed mid-way.
    const child = spawn(process.execPath, [CLI, 'experiment', 'run', file, '--parallel', '2', '--runs', join(dir, 'b')], { detached: true, stdio: 'ignore' });
    const first = join(dir, 'b', 'tiny', 'xl', 'seed-0');
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const metrics = join(first, 'metrics.jsonl');
        const steps = existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter((l) => l.includes('"train"')).length : 0;
        if (steps >= 8 || existsSync(join(first, 'summary.json'))) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    process.kill(-child.pid!, 'SIGKILL');
    expect(existsSync(join(dir, 'b', 'tiny', 'stair', 'seed-1', 'summary.json'))).toBe(false);

    const resumed = await cli(['experiment', 'run', file, '--parallel', '2', '--runs', join(dir, 'b')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/\(\d done, \d to score, [1-9] to resume, \d new\)/);
    for (const [m, s] of RUNS) expect(comparable(join(dir, 'b'), m, s), `${m} seed ${s}`).toEqual(comparable(join(dir, 'a'), m, s));

    // Finished runs are skipped.
    const again = await cli(['experiment', 'run', file, '--runs', join(dir, 'b')]);
    expect(again.stderr).toMatch(/4 runs \(4 done, 0 to score, 0 to resume, 0 new\)/);

    // A run trained to the end but not scored (stopped in between) is scored, not trained again.
    rmSync(join(dir, 'b', 'tiny', 'xl', 'seed-0', 'summary.json'));
    const rescored = await cli(['experiment', 'run', file, '--runs', join(dir, 'b')]);
    expect(rescored.code, rescored.stderr).toBe(0);
    expect(rescored.stderr).toMatch(/xl\/seed-0: trained; scoring/);
    expect(comparable(join(dir, 'b'), 'xl', 0)).toEqual(comparable(join(dir, 'a'), 'xl', 0));

    // A run directory is an ordinary run.
    const ev = await cli(['eval', '--run', join(dir, 'b', 'tiny', 'stair', 'seed-0'), '--split', 'test', '--json']);
    expect(ev.code, ev.stderr).toBe(0);

    const out = join(dir, 'docs', 'results');
    const index = join(dir, 'docs', 'RESULTS.md');
    mkdirSync(join(dir, 'docs'), { recursive: true });
    writeFileSync(index, '# Measured results\n\nText kept.\n');
    const report = await cli(['experiment', 'report', file, '--runs', join(dir, 'b'), '--out', out, '--index', index]);
    expect(report.code, report.stderr).toBe(0);
    const md = readFileSync(join(out, 'tiny.md'), 'utf8');
    const rows = md.split('\n').filter((l) => /^\| (xl|stair) \| (transformer-xl|staircase) \|/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.split('|').length - 2).toBe(9);
    const xl = JSON.parse(readFileSync(join(out, 'tiny', 'runs', 'xl-seed-1.json'), 'utf8'));
    expect(md).toContain((100 * xl.final.test.errorRate).toFixed(2));
    for (const svg of ['valid-curve.svg', 'by-position.svg']) expect(readFileSync(join(out, 'tiny', svg), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(md).toContain('(tiny/valid-curve.svg)');
    const indexText = readFileSync(index, 'utf8');
    expect(indexText).toContain('Text kept.');
    expect(indexText).toContain('(results/tiny.md)');

    // Rebuilt from the committed summaries alone (no run directories), the report is the same.
    const rebuilt = await cli(['experiment', 'report', file, '--runs', join(dir, 'nothing'), '--out', out, '--index', index]);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(readFileSync(join(out, 'tiny.md'), 'utf8')).toBe(md);
    expect(readFileSync(index, 'utf8')).toBe(indexText);

    // A fresh checkout has the published summaries but no run directories: nothing is trained again,
    // unless asked (--no-results), or unless the file changed (the published run is of another config).
    const fresh = join(dir, 'fresh');
    const published = await cli(['experiment', 'run', file, '--runs', fresh, '--results', out]);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stderr).toMatch(/4 runs \(4 done, 4 of them published in .*, 0 to score, 0 to resume, 0 new\)/);
    expect(published.stdout).toMatch(/4 runs finished/);
    expect(existsSync(fresh)).toBe(false);
    const ignored = await cli(['experiment', 'run', file, '--only', 'xl', '--seeds', '0', '--runs', fresh, '--no-results']);
    expect(ignored.stderr).toMatch(/1 runs \(0 done, 0 to score, 0 to resume, 1 new\)/);
    expect(comparable(fresh, 'xl', 0)).toEqual(comparable(join(dir, 'a'), 'xl', 0));
    writeFileSync(file, TINY.replace('memory: 8', 'memory: 4'));
    const edited = await cli(['experiment', 'run', file, '--only', 'xl', '--seeds', '1', '--runs', fresh, '--results', out]);
    expect(edited.stderr).toMatch(/1 runs \(0 done, 0 to score, 0 to resume, 1 new\)/);
  });

  it('an edited experiment file does not silently reuse runs of the old config', async () => {
    const { dir, file } = experimentDir();
    const r = await cli(['experiment', 'run', file, '--only', 'xl', '--seeds', '0', '--runs', dir]);
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(file, TINY.replace('memory: 8', 'memory: 4'));
    const changed = await cli(['experiment', 'run', file, '--only', 'xl', '--seeds', '0', '--runs', dir]);
    expect(changed.code).toBe(1);
    expect(changed.stderr.trim().split('\n')).toEqual([expect.stringMatching(/holds a run of another config .* delete .*seed-0 to train it again$/)]);
  });

  it('eval --by-position counts every labelled position of the split exactly once', async () => {
    const { dir, file } = experimentDir();
    const r = await cli(['experiment', 'run', file, '--only', 'stair', '--seeds', '1', '--runs', dir]);
    expect(r.code, r.stderr).toBe(0);
    const ev = await cli(['eval', '--run', join(dir, 'tiny', 'stair', 'seed-1'), '--split', 'valid', '--by-position', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const m = JSON.parse(ev.stdout);
    const ds = await openDataset('random-walk', { task: { episodeLength: 16 }, episodes: { train: 40, valid: 9, test: 9 } });
    const labels = ds.splits.valid.toArrays().labels!;
    const labelled = labels.filter((l) => l >= 0).length;
    // Rows 1..3 of the 4-row evaluation batch start inside an episode: the queries before their
    // first END cannot be known and are skipped, each counted once.
    const tokens = ds.splits.valid.toArrays().tokens;
    const end = ds.task!.vocabulary.indexOf('END');
    const rowStarts = [...Array(4).keys()].map((r) => ds.splits.valid.evalBatcher({ batch: 4, length: 32 }).next().value!.starts![r]!);
    let blind = 0;
    for (const start of rowStarts.slice(1)) {
      if (tokens[start - 1] === end) continue;
      for (let i = start; tokens[i] !== end; i++) if (labels[i]! >= 0) blind++;
    }
    expect(blind).toBeGreaterThan(0);
    expect(m.skipped).toBe(blind);
    expect(m.count + m.skipped).toBe(labelled);
    // 16 moves, a query every 4: indices 0..3, each at most once per episode (9 episodes).
    const counts = m.byPosition.map((p: { count: number }) => p.count);
    expect(counts).toHaveLength(4);
    expect(counts.reduce((a: number, c: number) => a + c, 0)).toBe(m.count);
    expect(Math.max(...counts)).toBeLessThanOrEqual(9);
    const wrong = m.byPosition.reduce((a: number, p: { count: number; errorRate: number }) => a + Math.round(p.errorRate * p.count), 0);
    expect(wrong).toBe(Math.round(m.errorRate * m.count));
    const text = await cli(['eval', '--run', join(dir, 'tiny', 'stair', 'seed-1'), '--by-position']);
    expect(text.stdout).toMatch(/not scored: their batch row starts inside the episode\): error [\d.]+%/);
    expect(text.stdout).toMatch(/error by query index within the episode:\n\s+0: [\d.]+% of \d\n/);
    const lm = await cli(['eval', '--run', join(dir, 'tiny', 'stair', 'seed-1'), '--data', 'brown', '--by-position']);
    expect(lm.code).toBe(1);
  });

  it.each([
    ['an unknown model kind', (t: string) => t.replace('kind: staircase', 'kind: stairs'), /models\.stair\.kind: unknown model kind "stairs"; one of .*staircase/],
    ['an unknown key', (t: string) => t.replace('preset: tiny', 'preset: tiny\nepochs: 3'), /unknown key "epochs"/],
    ['an unknown model field', (t: string) => t.replace('passes: 2', 'passes: 2, pases: 3'), /models\.stair.*unknown key "pases"/],
    ['an empty model list', (t: string) => t.replace(/models:\n(.*\n){2}/, 'models: {}\n'), /models: empty/],
    ['seeds that are not integers', (t: string) => t.replace('seeds: [0, 1]', 'seeds: [0, 1.5]'), /seeds\.1: got 1\.5, expected/],
    ['a seed in train', (t: string) => t.replace('evalBatches: 2', 'evalBatches: 2, seed: 3'), /train\.seed: set the seeds with/],
    ['a bad YAML file', () => 'models: [', /not valid YAML/],
  ])('refuses %s with one line', async (_, edit, message) => {
    const { dir, file } = experimentDir();
    writeFileSync(file, edit(TINY));
    const r = await cli(['experiment', 'run', file, '--runs', dir]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(existsSync(join(dir, 'tiny'))).toBe(false);
  });

  it("the report's budget line shows the shared training settings, not the first model's own", async () => {
    const dir = tmp('exp-own');
    try {
      const file = join(dir, 'own.yaml');
      const own = TINY.replace('train: { steps: 24,', 'train: { lr: 0.001, warmupSteps: 5, steps: 24,').replace(
        'models:\n  xl: { kind: transformer-xl, memory: 8 }\n  stair: { kind: staircase, chunk: 4, passes: 2 }',
        'models:\n  stair: { kind: staircase, chunk: 4, passes: 2, train: { lr: 0.002, warmupSteps: 9 } }\n  xl: { kind: transformer-xl, memory: 8 }',
      );
      expect(own).toContain('train: { lr: 0.002');
      writeFileSync(file, own);
      const out = join(dir, 'results');
      const r = await cli(['experiment', 'report', file, '--runs', join(dir, 'none'), '--out', out, '--index', join(dir, 'RESULTS.md')]);
      expect(r.code, r.stderr).toBe(0);
      const md = readFileSync(join(out, 'own.md'), 'utf8');
      expect(md).toMatch(/24 steps of \d+ × \d+ tokens, lr 0\.001, warm-up 5, cosine decay/);
      expect(md).toContain('Training settings of their own: `stair` {"lr":0.002,"warmupSteps":9}.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the committed experiment files are valid; the paper experiments have 3 seeds of every model', () => {
    const dir = fileURLToPath(new URL('../../../experiments/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['random-walk.yaml', 'algorithmic-3var.yaml', 'brown-lm.yaml', 'enwik8-gpu.yaml']));
    for (const f of files) {
      const e = loadExperiment(join(dir, f));
      expect(e.runs.length, f).toBeGreaterThan(0);
      // The paper's experiments have 3 seeds; the probes (sweep, lr, horizon, episodes) one or two.
      if (['random-walk.yaml', 'algorithmic-3var.yaml', 'brown-lm.yaml'].includes(f)) expect(e.spec.seeds, f).toEqual([0, 1, 2]);
    }
  });

  it('refuses bad flags with one line', async () => {
    const { dir, file } = experimentDir();
    for (const [args, message] of [
      [['--only', 'xl,big'], /--only big: .* has no model "big"; its models are xl, stair/],
      [['--seeds', '0,x'], /--seeds 0,x: expected whole numbers/],
      [['--seeds', '1,1'], /--seeds 1,1: repeats a seed/],
      [['--parallel', '0'], /--parallel 0: expected a whole number ≥ 1/],
    ] as const) {
      const r = await cli(['experiment', 'run', file, '--runs', dir, ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
    const missing = await cli(['experiment', 'run', join(dir, 'nope.yaml')]);
    expect(missing.stderr.trim()).toMatch(/config file .*nope\.yaml does not exist/);
  });
});
