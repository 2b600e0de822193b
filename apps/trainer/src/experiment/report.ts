import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { EvalMetrics } from '../evaluate.js';
import { type BandPoint, bandChartSvg } from '../plots.js';
import { readMetrics, writeAtomic } from '../run-dir.js';
import { type RunSummary, publishedSummaryPath, readJsonFile, readSummary, sameRun } from './run.js';
import { type Experiment, type LoadExperimentOptions, loadExperiment } from './spec.js';

/** Options of {@link reportExperiment}. */
export interface ReportOptions extends Pick<LoadExperimentOptions, 'runsDir'> {
  /** Where reports go: `<outDir>/<name>.md` and `<outDir>/<name>/`. Default `docs/results`. */
  outDir?: string;
  /** The index that links every report (between marker comments). Default `docs/RESULTS.md`; `null` to skip. */
  index?: string | null;
}

/** What {@link reportExperiment} wrote. */
export interface ReportResult {
  markdown: string;
  files: string[];
  /** Runs of the experiment with no summary yet. */
  missing: { model: string; seed: number; step: number; steps: number }[];
}

/** Mean and sample standard deviation (n − 1); std is NaN for one value. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  return { mean, std };
}

/** The headline number of a metric: error % for labelled tasks, bits per unit otherwise. */
const value = (m: Pick<EvalMetrics, 'errorRate' | 'bitsPerToken'>): number => (m.errorRate !== undefined ? 100 * m.errorRate : m.bitsPerToken);

function formatMeanStd(values: number[], digits: number): string {
  if (values.length === 0) return '–';
  const { mean, std } = meanStd(values);
  return Number.isNaN(std) ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}

function formatTokens(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}

const formatMinutes = (s: number) => (s >= 90 ? `${(s / 60).toFixed(0)} min` : `${Math.round(s)} s`);

/** Bands over seeds: mean, min and max of each series at each x. */
function bands(series: string, runs: { x: number; y: number }[][]): BandPoint[] {
  const byX = new Map<number, number[]>();
  for (const r of runs) for (const p of r) byX.set(p.x, [...(byX.get(p.x) ?? []), p.y]);
  return [...byX.entries()]
    .sort(([a], [b]) => a - b)
    .map(([x, ys]) => ({ x, mean: meanStd(ys).mean, lo: Math.min(...ys), hi: Math.max(...ys), series }));
}

/** A summary from a run directory, else the copy an earlier report committed. */
function findSummary(exp: Experiment, dir: string, outDir: string, model: string, seed: number): RunSummary | undefined {
  return readSummary(dir) ?? readJsonFile<RunSummary>(publishedSummaryPath(outDir, exp.name, { model, seed }));
}

/**
 * Writes an experiment's report from its runs' summaries: `<outDir>/<name>.md` (a table per model
 * with mean ± std over seeds, a table per run, the plots), `<outDir>/<name>/valid-curve.svg` (the
 * validation metric against training tokens, seeds as bands), for labelled tasks
 * `<outDir>/<name>/by-position.svg` (test error by the query's index within its episode), and a
 * copy of every run's summary under `<outDir>/<name>/runs/` (so the report can be rebuilt without
 * the run directories). Runs still training are listed as such.
 */
export async function reportExperiment(file: string, options: ReportOptions = {}): Promise<ReportResult> {
  const exp = loadExperiment(file, options.runsDir === undefined ? {} : { runsDir: options.runsDir });
  const outDir = options.outDir ?? join('docs', 'results');
  const assets = join(outDir, exp.name);
  mkdirSync(join(assets, 'runs'), { recursive: true });
  const files: string[] = [];
  const missing: ReportResult['missing'] = [];
  const summaries: RunSummary[] = [];
  const stale: string[] = [];
  for (const run of exp.runs) {
    const found = findSummary(exp, run.dir, outDir, run.model, run.seed);
    // A summary of another config (the file was edited since) is not this experiment's result.
    const s = found && sameRun(found.config, run.config) ? found : undefined;
    if (found && !s) stale.push(`${run.model} seed ${run.seed}`);
    if (s) {
      summaries.push(s);
      const copy = join(assets, 'runs', `${run.model}-seed-${run.seed}.json`);
      writeAtomic(copy, `${JSON.stringify(s, null, 2)}\n`);
      files.push(copy);
    } else if (!found) {
      const steps = readMetrics(run.dir).filter((r) => r.split === 'train').length;
      missing.push({ model: run.model, seed: run.seed, step: steps, steps: run.config.train.steps });
    }
  }
  const labelled = summaries.some((s) => Object.values(s.final).some((m) => m?.errorRate !== undefined));
  const unit = summaries.flatMap((s) => Object.values(s.final)).find((m) => m)?.unit ?? 'token';
  const metricName = labelled ? 'error %' : `bits/${unit}`;
  const digits = labelled ? 2 : 4;
  const models = Object.keys(exp.spec.models).filter((m) => summaries.some((s) => s.model === m));

  const lines: string[] = [`# Experiment: ${exp.name}`, ''];
  if (exp.spec.description) lines.push(exp.spec.description.trim(), '');
  // The shared budget: a run's resolved train section with the experiment file's own train values
  // over it (a model's overrides are listed after this line, not shown as the shared setting).
  const r0 = exp.runs.find((r) => exp.spec.models[r.model]?.train === undefined) ?? exp.runs[0];
  const t = r0 ? { ...r0.config.train, ...(exp.spec.train as Partial<typeof r0.config.train>) } : undefined;
  lines.push(
    'Reproduce (each run is deterministic per seed; a killed command continues where it stopped):',
    '',
    '```sh',
    `staircase experiment run ${exp.file} --parallel 2`,
    `staircase experiment report ${exp.file}`,
    '```',
    '',
    `Data \`${exp.runs[0]?.config.data.spec}\`${exp.spec.data.task ? ` (task ${JSON.stringify(exp.spec.data.task)})` : ''}; preset \`${exp.spec.preset}\`; ` +
      (t ? `${t.steps} steps of ${t.batch} × ${t.length} tokens, lr ${t.lr}, warm-up ${t.warmupSteps}, cosine decay; ` : '') +
      `seeds ${exp.spec.seeds.join(', ')}. Final scores: the final checkpoint on whole splits.`,
    '',
  );
  const own = Object.entries(exp.spec.models).filter(([, f]) => f.train !== undefined);
  if (own.length > 0) lines.push(`Training settings of their own: ${own.map(([m, f]) => `\`${m}\` ${JSON.stringify(f.train)}`).join('; ')}.`, '');
  if (summaries.length > 0) {
    lines.push(
      `| model | kind | parameters | layer applications / token | tokens seen | ${exp.spec.splits.map((s) => `${s} ${metricName}`).join(' | ')} | seeds | wall time / run |`,
      `|---|---|---|---|---|${exp.spec.splits.map(() => '---|').join('')}---|---|`,
    );
    for (const m of models) {
      const runs = summaries.filter((s) => s.model === m);
      const r0 = runs[0]!;
      const cells = exp.spec.splits.map((split) => formatMeanStd(runs.flatMap((r) => (r.final[split] ? [value(r.final[split])] : [])), digits));
      const wall = meanStd(runs.map((r) => r.wallSeconds)).mean;
      lines.push(
        `| ${m} | ${r0.kind} | ${r0.parameters.toLocaleString('en')} | ${r0.layerApplicationsPerToken} | ${formatTokens(r0.tokens)} | ${cells.join(' | ')} | ${runs.length} | ${formatMinutes(wall)} |`,
      );
    }
    lines.push('', 'Mean ± sample standard deviation over seeds.', '');
  }
  if (stale.length > 0) lines.push(`Left out, trained with another config than the file now gives (run them again): ${stale.join(', ')}.`, '');
  if (missing.length > 0) {
    lines.push(`Not finished yet: ${missing.map((m) => `${m.model} seed ${m.seed} (step ${m.step} of ${m.steps})`).join(', ')}.`, '');
  }

  if (summaries.length > 0) {
    const curve = models.flatMap((m) =>
      bands(
        m,
        summaries.filter((s) => s.model === m).map((s) => s.curve.map((p) => ({ x: p.tokens, y: value(p) }))),
      ),
    );
    const curveFile = join(assets, 'valid-curve.svg');
    writeAtomic(curveFile, await bandChartSvg(`${exp.name}: validation ${metricName} (periodic, part of the split)`, { x: 'training tokens', y: metricName }, curve));
    files.push(curveFile);
    lines.push(`![validation ${metricName} against training tokens](${exp.name}/valid-curve.svg)`, '');
    const split = exp.spec.splits.includes('test') ? 'test' : 'valid';
    if (labelled && summaries.some((s) => s.final[split]?.byPosition)) {
      const points = models.flatMap((m) =>
        bands(
          m,
          summaries.filter((s) => s.model === m).map((s) => (s.final[split]?.byPosition ?? []).filter((p) => p.count > 0).map((p) => ({ x: p.index, y: 100 * p.errorRate }))),
        ),
      );
      const posFile = join(assets, 'by-position.svg');
      writeAtomic(posFile, await bandChartSvg(`${exp.name}: ${split} error by the query's index in its episode`, { x: 'query index within the episode', y: 'error %' }, points));
      files.push(posFile);
      lines.push(`![${split} error by query index](${exp.name}/by-position.svg)`, '');
      lines.push(...positionTable(models, summaries, split), '');
    }
    lines.push('Per run:', '', `| model | seed | ${exp.spec.splits.map((s) => `${s} ${metricName}`).join(' | ')} | wall time | commit | machine |`, `|---|---|${exp.spec.splits.map(() => '---|').join('')}---|---|---|`);
    for (const s of summaries) {
      const cells = exp.spec.splits.map((split) => (s.final[split] ? value(s.final[split]).toFixed(digits) : '–'));
      lines.push(`| ${s.model} | ${s.seed} | ${cells.join(' | ')} | ${formatMinutes(s.wallSeconds)} | ${s.commit ? s.commit.slice(0, 7) + (s.commit.endsWith('-dirty') ? '+' : '') : '–'} | ${s.machine.cpu.trim()}, ${s.machine.cores} cores |`);
    }
    lines.push('');
  }
  const markdown = `${lines.join('\n').trimEnd()}\n`;
  const mdFile = join(outDir, `${exp.name}.md`);
  writeAtomic(mdFile, markdown);
  files.push(mdFile);
  if (options.index !== null) files.push(updateIndex(options.index ?? join('docs', 'RESULTS.md'), outDir));
  return { markdown, files, missing };
}

/** Error by query index in four spans of the episode (early … late), mean over seeds. */
function positionTable(models: string[], summaries: RunSummary[], split: 'valid' | 'test'): string[] {
  const maxIndex = Math.max(...summaries.flatMap((s) => (s.final[split]?.byPosition ?? []).map((p) => p.index)));
  const spans = 4;
  const width = Math.ceil((maxIndex + 1) / spans);
  const edges = Array.from({ length: spans }, (_, i) => [i * width, Math.min((i + 1) * width - 1, maxIndex)] as const).filter(([a, b]) => a <= b);
  const out = [`| model | ${edges.map(([a, b]) => `queries ${a}–${b}`).join(' | ')} |`, `|---|${edges.map(() => '---|').join('')}`];
  for (const m of models) {
    const cells = edges.map(([a, b]) => {
      const rates = summaries
        .filter((s) => s.model === m)
        .map((s) => {
          const ps = (s.final[split]?.byPosition ?? []).filter((p) => p.index >= a && p.index <= b);
          const count = ps.reduce((x, p) => x + p.count, 0);
          return count > 0 ? (100 * ps.reduce((x, p) => x + p.errorRate * p.count, 0)) / count : Number.NaN;
        })
        .filter((r) => !Number.isNaN(r));
      return rates.length ? `${meanStd(rates).mean.toFixed(1)} %` : '–';
    });
    out.push(`| ${m} | ${cells.join(' | ')} |`);
  }
  return [`${split} error % by the query's index within its episode (mean over seeds):`, '', ...out];
}

const START = '<!-- experiments:start (written by staircase experiment report) -->';
const END = '<!-- experiments:end -->';

/** Rewrites the list of experiment reports in the index file between its markers (appended once). */
function updateIndex(index: string, outDir: string): string {
  const reports = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.md')).sort() : [];
  const items = reports.map((f) => {
    const first = readFileSync(join(outDir, f), 'utf8').split('\n')[0]?.replace(/^#\s*/, '') ?? f;
    return `- [${first}](${relative(join(index, '..'), join(outDir, f)).split('\\').join('/')})`;
  });
  const block = `${START}\n${items.join('\n')}\n${END}`;
  const text = existsSync(index) ? readFileSync(index, 'utf8') : `# Measured results\n`;
  const at = text.indexOf(START);
  const end = text.indexOf(END);
  const next =
    at >= 0 && end > at ? `${text.slice(0, at)}${block}${text.slice(end + END.length)}` : `${text.trimEnd()}\n\n## Experiments\n\n${block}\n`;
  writeAtomic(index, next);
  return index;
}
