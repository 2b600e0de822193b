import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '@staircase/core';
import { openDataset } from '@staircase/data';
import { MultiBar } from 'cli-progress';
import { UsageError } from '../errors.js';
import type { EvalMetrics } from '../evaluate.js';
import { readMetrics, readRunConfig, runFiles, writeAtomic } from '../run-dir.js';
import { datasetOptions, isTaskSpec } from '../session.js';
import { type Experiment, type LoadExperimentOptions, type PlannedRun, loadExperiment } from './spec.js';

/** What a finished run of an experiment reports: `summary.json` in its run directory. */
export interface RunSummary {
  experiment: string;
  model: string;
  seed: number;
  kind: string;
  parameters: number;
  layerApplicationsPerToken: number;
  steps: number;
  /** Training tokens seen: steps × batch × length. */
  tokens: number;
  /** Seconds of training and final evaluation, summed over every attempt (resumes). */
  wallSeconds: number;
  /** Scores of the final checkpoint on whole splits (labelled tasks: by position too). */
  final: Partial<Record<'valid' | 'test', EvalMetrics>>;
  /** The periodic validation scores: step, tokens, and the metric record. */
  curve: { step: number; tokens: number; loss: number; errorRate?: number; bitsPerToken: number }[];
  config: unknown;
  /** `git rev-parse HEAD` of the tree that ran it (`-dirty` with uncommitted changes), when in a git checkout. */
  commit: string | null;
  machine: { cpu: string; cores: number; node: string };
}

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions extends LoadExperimentOptions {
  /** Runs at once (each a child process on one core). Default 1. */
  parallel?: number;
  /** The built `staircase` CLI to run children with. Default: the one next to this module. */
  cli?: string;
  /** Where progress lines go. Default stderr. */
  log?: (line: string) => void;
  /** Seconds between progress lines when not on a terminal. Default 60. */
  progressEvery?: number;
  /** Stops starting runs and interrupts running ones (they save a checkpoint). */
  signal?: { stop: boolean };
  /**
   * Where reports are published (`staircase experiment report --out`). A run whose summary a report
   * already copied there, for the same config, counts as done: a fresh checkout that has the
   * published results does not train them again. Default `docs/results`; `null` to ignore them.
   */
  resultsDir?: string | null;
}

/**
 * Where a planned run stands: `done` (scored), `score` (trained to the end, not yet scored),
 * `resume` (a checkpoint to continue from) or `new`.
 */
export type RunStatus = 'done' | 'score' | 'resume' | 'new';

const summaryPath = (dir: string) => join(dir, 'summary.json');
const timePath = (dir: string) => join(dir, 'experiment-time.json');

function defaultCli(): string {
  // CJS build: __filename; ESM build: import.meta.url. Both sit in dist/ beside cli.js.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  return join(dirname(here), 'cli.js');
}

/** Where a report publishes the copy of a run's summary: `<resultsDir>/<experiment>/runs/<model>-seed-<s>.json`. */
export const publishedSummaryPath = (resultsDir: string, experiment: string, run: Pick<PlannedRun, 'model' | 'seed'>) =>
  join(resultsDir, experiment, 'runs', `${run.model}-seed-${run.seed}.json`);

/** The published summary of a run, when there is one for the run's current config. */
export function publishedSummary(resultsDir: string | null, experiment: string, run: PlannedRun): RunSummary | undefined {
  if (resultsDir === null) return undefined;
  const s = readJsonFile<RunSummary>(publishedSummaryPath(resultsDir, experiment, run));
  return s && sameRun(s.config, run.config) ? s : undefined;
}

/**
 * Where a planned run stands (see {@link RunStatus}). With `published` (the run's summary in the
 * published results, for its current config) a run with no directory of its own is done.
 * @throws UsageError when the directory holds a run of another config (the experiment file changed).
 */
export function runStatus(run: PlannedRun, published?: RunSummary): RunStatus {
  const f = runFiles(run.dir);
  if (existsSync(f.config) && !sameRun(readRunConfig(run.dir), run.config)) {
    throw new UsageError(
      `${run.dir} holds a run of another config than the experiment file now gives ${run.model} seed ${run.seed}; restore the file, or delete ${run.dir} to train it again`,
    );
  }
  if (existsSync(summaryPath(run.dir))) return 'done';
  if (published && !existsSync(f.config)) return 'done';
  if (!existsSync(f.latest)) return 'new';
  return trainedToTheEnd(run) ? 'score' : 'resume';
}

/** Whether two run configs describe the same run: equal but for the backend, which may differ between machines. */
export function sameRun(a: unknown, b: unknown): boolean {
  const strip = (c: unknown) => ({ ...(c as Record<string, unknown>), backend: undefined });
  return canonical(strip(a)) === canonical(strip(b));
}

/** A run is trained to the end once its final validation record is written (after the final checkpoint). */
function trainedToTheEnd(run: PlannedRun): boolean {
  const steps = run.config.train.steps;
  return existsSync(runFiles(run.dir).latest) && readMetrics(run.dir).some((r) => r.split === 'valid' && Number(r.step) === steps);
}

/** JSON with object keys sorted, so two equal configs compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** Reads a finished run's summary, or undefined. */
export function readSummary(dir: string): RunSummary | undefined {
  return readJsonFile<RunSummary>(summaryPath(dir));
}

/** A JSON file, or undefined when absent; a damaged one is one line naming it. */
export function readJsonFile<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON (${(e as Error).message}); delete it to write it again`);
  }
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

/** Seconds already spent on a run (earlier attempts). */
function spentSeconds(dir: string): number {
  try {
    return Number((JSON.parse(readFileSync(timePath(dir), 'utf8')) as { seconds?: number }).seconds ?? 0);
  } catch {
    return 0;
  }
}

/** Runs the CLI as a child; its output is appended to `<dir>/experiment.log`. */
function child(cli: string, args: string[], dir: string, children: Set<ChildProcess>): Promise<{ code: number; stdout: string }> {
  mkdirSync(dir, { recursive: true });
  const logFd = openSync(join(dir, 'experiment.log'), 'a');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', logFd] });
    children.add(p);
    let stdout = '';
    p.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      children.delete(p);
      closeSync(logFd);
      resolve({ code: code ?? 1, stdout });
    });
  });
}

interface Progress {
  step: number;
  metric?: string;
}

function progressOf(run: PlannedRun): Progress {
  const records = readMetrics(run.dir);
  let step = 0;
  let metric: string | undefined;
  for (const r of records) {
    if (r.split === 'train') step = Math.max(step, Number(r.step));
    if (r.split === 'valid') metric = r.errorRate !== undefined ? `valid error ${(100 * Number(r.errorRate)).toFixed(1)}%` : `valid ${Number(r.bitsPerToken).toFixed(3)} bits/${r.unit}`;
  }
  return { step, ...(metric ? { metric } : {}) };
}

/** Parameters and layer applications per token of each model, computed once per model. */
async function costs(exp: Experiment): Promise<Map<string, { kind: string; parameters: number; layerApplicationsPerToken: number }>> {
  const out = new Map<string, { kind: string; parameters: number; layerApplicationsPerToken: number }>();
  const first = exp.runs[0];
  if (!first) return out;
  const ds = await openDataset(first.config.data.spec, datasetOptions(first.config));
  try {
    for (const run of exp.runs) {
      if (out.has(run.model)) continue;
      const m = createModel({ ...run.config.model, vocabSize: ds.outputSize });
      out.set(run.model, { kind: m.kind, ...m.cost() });
    }
  } finally {
    ds.close();
  }
  return out;
}

/**
 * Runs an experiment: every (model, seed) that has no summary yet, `parallel` at a time, each as
 * `staircase train` in its own process (so one core each), continuing from its last checkpoint when
 * it has one (exactly, as `train --resume`). A finished run is scored on whole splits from its final
 * checkpoint and gets `summary.json`. Killing the command and running it again picks up where it
 * stopped; finished runs are skipped.
 *
 * @returns the summaries of every run of the experiment that is finished.
 */
export async function runExperiment(file: string, options: RunExperimentOptions = {}): Promise<RunSummary[]> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const exp = loadExperiment(file, options);
  const cli = options.cli ?? defaultCli();
  if (!existsSync(cli)) throw new UsageError(`the staircase CLI is not built (${cli}); run pnpm build`);
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel ${parallel}: expected a whole number ≥ 1`);
  const resultsDir = options.resultsDir === undefined ? join('docs', 'results') : options.resultsDir;
  const published = new Map(exp.runs.map((r) => [r, publishedSummary(resultsDir, exp.name, r)]));
  const statuses = exp.runs.map((r) => runStatus(r, published.get(r)));
  const todo = exp.runs.filter((_, i) => statuses[i] !== 'done');
  const count = (s: RunStatus) => statuses.filter((x) => x === s).length;
  const fromResults = exp.runs.filter((r, i) => statuses[i] === 'done' && !readSummary(r.dir)).length;
  log(
    `experiment ${exp.name}: ${exp.runs.length} runs (${count('done')} done${fromResults ? `, ${fromResults} of them published in ${resultsDir}` : ''}, ${count('score')} to score, ${count('resume')} to resume, ${count('new')} new), ${parallel} at a time`,
  );
  // The backend may differ between machines (it is not part of what a run is): the file's, else
  // STAIRCASE_BACKEND, passed to every child.
  const backend = exp.spec.backend ?? (process.env.STAIRCASE_BACKEND?.trim() || undefined);
  const backendArgs = backend ? ['--backend', backend] : [];
  const cost = await costs(exp);
  const commit = gitCommit();
  const children = new Set<ChildProcess>();
  const signal = options.signal ?? { stop: false };
  const started = new Map<PlannedRun, number>();

  const bars = process.stderr.isTTY ? new MultiBar({ format: '{name} |{bar}| {value}/{total} {metric} ETA {eta_formatted}', hideCursor: true }) : undefined;
  const bar = new Map<PlannedRun, ReturnType<MultiBar['create']>>();
  const recordTime = (run: PlannedRun, base: number) => {
    const t0 = started.get(run);
    if (t0 !== undefined) writeAtomic(timePath(run.dir), `${JSON.stringify({ seconds: base + (Date.now() - t0) / 1000 })}\n`);
  };
  const bases = new Map<PlannedRun, number>();
  const startStep = new Map<PlannedRun, number>();
  const tick = () => {
    try {
      progressLines();
    } catch (e) {
      // Never let a progress line (a full disk, a damaged metrics file) take the experiment down.
      log(`  progress: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  const progressLines = () => {
    for (const run of started.keys()) {
      recordTime(run, bases.get(run) ?? 0);
      const p = progressOf(run);
      const steps = run.config.train.steps;
      if (bars) bar.get(run)?.update(p.step, { metric: p.metric ?? '' });
      else {
        const elapsed = (Date.now() - (started.get(run) ?? Date.now())) / 1000;
        const done = p.step - (startStep.get(run) ?? 0);
        const eta = done > 0 ? Math.round(((steps - p.step) * elapsed) / done / 60) : undefined;
        log(`  ${run.model}/seed-${run.seed}: step ${p.step}/${steps}${p.metric ? `, ${p.metric}` : ''}${eta !== undefined ? `, ETA ${eta} min` : ''}`);
      }
    }
  };
  const timer = setInterval(tick, bars ? 2000 : 1000 * (options.progressEvery ?? 60));

  const one = async (run: PlannedRun): Promise<void> => {
    if (signal.stop) return;
    const status = runStatus(run, published.get(run));
    if (status === 'done') return;
    mkdirSync(run.dir, { recursive: true });
    const configFile = join(run.dir, 'experiment-config.json');
    writeAtomic(configFile, `${JSON.stringify(run.config, null, 2)}\n`);
    bases.set(run, spentSeconds(run.dir));
    startStep.set(run, progressOf(run).step);
    started.set(run, Date.now());
    if (bars) bar.set(run, bars.create(run.config.train.steps, progressOf(run).step, { name: `${run.model}/seed-${run.seed}`.padEnd(28), metric: '' }));
    else log(`  ${run.model}/seed-${run.seed}: ${{ resume: `resuming at step ${progressOf(run).step}`, score: 'trained; scoring', new: 'starting' }[status]}`);
    const stopped = () => {
      recordTime(run, bases.get(run) ?? 0);
      started.delete(run);
    };
    if (status !== 'score') {
      const args =
        status === 'resume'
          ? ['train', '--resume', run.dir, ...backendArgs]
          : // A directory with no checkpoint holds only a failed start: --force starts it afresh.
            ['train', '--config', configFile, '--out', run.dir, '--force', ...backendArgs];
      const trained = await child(cli, args, run.dir, children);
      if (signal.stop) return stopped();
      if (trained.code !== 0) {
        stopped();
        throw new UsageError(`${run.model} seed ${run.seed} failed (exit ${trained.code}); see ${join(run.dir, 'experiment.log')}`);
      }
      if (!trainedToTheEnd(run)) {
        // Interrupted on its own (a signal to that process alone): it saved; the next run continues it.
        stopped();
        log(`  ${run.model}/seed-${run.seed}: stopped at step ${progressOf(run).step} before the end; run the command again to continue`);
        return;
      }
    }
    const final: RunSummary['final'] = {};
    for (const split of exp.spec.splits) {
      const args = ['eval', '--checkpoint', runFiles(run.dir).latest, '--split', split, '--json', ...backendArgs, ...(isTaskSpec(run.config.data.spec) ? ['--by-position'] : [])];
      const r = await child(cli, args, run.dir, children);
      if (signal.stop) return stopped();
      if (r.code !== 0) {
        stopped();
        throw new UsageError(`scoring ${run.model} seed ${run.seed} on ${split} failed (exit ${r.code}); see ${join(run.dir, 'experiment.log')}`);
      }
      try {
        const scored = JSON.parse(r.stdout.trim().split('\n').pop() as string) as EvalMetrics & { checkpoint?: { path?: string } };
        // The checkpoint's path inside the run directory: a summary is committed and read elsewhere.
        if (scored.checkpoint?.path) scored.checkpoint = { ...scored.checkpoint, path: relative(run.dir, scored.checkpoint.path) };
        final[split] = scored;
      } catch {
        stopped();
        throw new UsageError(`scoring ${run.model} seed ${run.seed} on ${split} printed no result; see ${join(run.dir, 'experiment.log')}`);
      }
    }
    recordTime(run, bases.get(run) ?? 0);
    started.delete(run);
    bar.get(run)?.update(run.config.train.steps, { metric: 'done' });
    writeAtomic(summaryPath(run.dir), `${JSON.stringify(summarize(exp, run, final, cost, commit), null, 2)}\n`);
    if (!bars) log(`  ${run.model}/seed-${run.seed}: done, ${describeFinal(final)}`);
  };

  const queue = [...todo];
  const workers = Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    for (let run = queue.shift(); run; run = queue.shift()) await one(run);
  });
  // A signal to this process is passed on once to the children, which finish their step and save;
  // no new run starts. When it reached the children too (Ctrl-C in a terminal, a kill of the
  // process group), each gets it twice within milliseconds, which `train` counts as one.
  const forward = (name: NodeJS.Signals) => {
    if (signal.stop) return;
    signal.stop = true;
    for (const c of children) c.kill(name);
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  try {
    await Promise.all(workers);
  } catch (e) {
    forward('SIGTERM');
    throw e;
  } finally {
    clearInterval(timer);
    bars?.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  if (signal.stop) log(`experiment ${exp.name}: interrupted; run the same command again to continue`);
  return exp.runs.map((r) => readSummary(r.dir) ?? published.get(r)).filter((s): s is RunSummary => s !== undefined);
}

function describeFinal(final: RunSummary['final']): string {
  return Object.values(final)
    .map((m) => (m.errorRate !== undefined ? `${m.split} error ${(100 * m.errorRate).toFixed(2)}%` : `${m.split} ${m.bitsPerToken.toFixed(4)} bits/${m.unit}`))
    .join(', ');
}

function summarize(
  exp: Experiment,
  run: PlannedRun,
  final: RunSummary['final'],
  cost: Map<string, { kind: string; parameters: number; layerApplicationsPerToken: number }>,
  commit: string | null,
): RunSummary {
  const t = run.config.train;
  const perStep = t.batch * t.length; // train.batch is the whole batch of an update, accumulated or not
  const c = cost.get(run.model)!;
  const curve = readMetrics(run.dir)
    .filter((r) => r.split === 'valid')
    .map((r) => ({
      step: Number(r.step),
      tokens: Number(r.step) * perStep,
      loss: Number(r.loss),
      bitsPerToken: Number(r.bitsPerToken),
      ...(r.errorRate !== undefined ? { errorRate: Number(r.errorRate) } : {}),
    }));
  return {
    experiment: exp.name,
    model: run.model,
    seed: run.seed,
    ...c,
    steps: t.steps,
    tokens: t.steps * perStep,
    wallSeconds: Math.round(spentSeconds(run.dir)),
    final,
    curve,
    config: run.config,
    commit,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  };
}
