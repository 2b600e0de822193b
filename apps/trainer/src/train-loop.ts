import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, formatBackendReport, loadCheckpoint, saveCheckpoint } from '@staircase/backend-tfjs';
import type { Batch, TokenizerJSON } from '@staircase/data';
import { SingleBar } from 'cli-progress';
import { UsageError } from './errors.js';
import { type EvalMetrics, evaluateSplit, headline, tokenUnit } from './evaluate.js';
import { generate } from './generate.js';
import { PLOTS_NEED, lineChartSvg, plotsAvailable } from './plots.js';
import { escapeUnprintable } from './printable.js';
import { formatConfigYaml } from './config-yaml.js';
import { parseConfig } from '@staircase/core';
import { type RunConfig, type RunConfigSources, resolveRunConfig, runConfigSchema } from './run-config.js';
import { appendMetric, checkRunDirFree, createRunDir, defaultRunDir, removeRunFiles, readMetrics, readRunConfig, runFiles, truncateMetrics, writeAtomic } from './run-dir.js';
import { lockRunDir, removeStaleTemps } from './run-lock.js';
import { type Session, openSession } from './session.js';

/** Raised when training cannot go on (diverged); the last good checkpoint is intact. */
export class TrainingStopped extends Error {
  override readonly name = 'UsageError';
}

/** Options of {@link train}. */
export interface TrainOptions extends RunConfigSources {
  out?: string;
  resume?: string;
  force?: boolean;
  /** With `resume` and a new `steps`: stretch the cosine schedule over the new length (default: keep the run's schedule). */
  extendSchedule?: boolean;
  /** Where progress lines go. Default stderr. */
  log?: (line: string) => void;
  /** Print a sample at the end. Default true. */
  sample?: boolean;
  /** Stops the loop after the current step (Ctrl-C). Installed by the CLI. */
  signal?: { stop: boolean };
  /**
   * Flags given as shortcuts of `--set` (e.g. `--lr`): their assignments come first in `set`, and
   * `--resume` names them when it refuses them.
   */
  shortcuts?: readonly string[];
}

/** What a finished (or interrupted) training run reports. */
export interface TrainResult {
  dir: string;
  steps: number;
  losses: { step: number; loss: number }[];
  valid?: EvalMetrics;
  interrupted: boolean;
  sample?: string;
}

/**
 * Trains a model as the run config says and writes the run directory: config.json, metrics.jsonl,
 * checkpoints/latest.ckpt and best.ckpt, samples/ and plots/. `resume` continues a run exactly:
 * same data position, optimizer state, model state and dropout stream.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let config: RunConfig;
  let dir: string;
  let checkpoint: Checkpoint | undefined;
  let release = () => {};
  if (options.resume) {
    dir = options.resume;
    refuseIgnoredFlags(options);
    config = readRunConfig(dir);
    if (options.steps !== undefined && (options.steps !== config.train.steps || options.extendSchedule)) {
      // The learning-rate schedule stays the run's own unless asked: a longer run continues at the
      // schedule's final rate instead of jumping back up a re-stretched cosine.
      const schedule = options.extendSchedule ? options.steps : (config.train.scheduleSteps ?? config.train.steps);
      config = { ...config, train: { ...config.train, steps: options.steps, scheduleSteps: schedule } };
      log(
        options.extendSchedule
          ? `--extend-schedule: the cosine schedule now spans ${schedule} steps (the learning rate changes from the saved run's)`
          : `steps ${options.steps}; the learning-rate schedule keeps its ${schedule} steps${options.steps > schedule ? ', then stays at its final rate' : ''} (--extend-schedule to stretch it)`,
      );
    } else if (options.extendSchedule) throw new UsageError('--extend-schedule needs --steps N (the new length of the run)');
    if (options.backend) config = { ...config, backend: parseConfig(runConfigSchema.shape.backend, options.backend, 'backend') };
    const latest = runFiles(dir).latest;
    if (!existsSync(latest)) throw new UsageError(`cannot resume ${dir}: it has no checkpoint (${latest})`);
    release = lockRunDir(dir);
    try {
      removeStaleTemps(dir);
      checkpoint = await loadCheckpoint(latest);
    } catch (e) {
      release();
      throw e;
    }
  } else {
    config = resolveRunConfig(options);
    dir = options.out ?? defaultRunDir(String(config.model.kind), config.data.spec);
    checkRunDirFree(dir, options.force ?? false);
  }
  try {
    // Data, model and backend are checked before a new directory is made, so a failed start leaves nothing.
    const session = await openSession(config, { tokenizer: checkpoint?.tokenizer as TokenizerJSON | undefined, forTraining: true });
    try {
      if (!options.resume) {
        release = createRunDir(dir, options.force ?? false);
        removeStaleTemps(dir);
      }
      try {
        return await loop(session, dir, checkpoint, options, log);
      } catch (e) {
        // A new run that failed before its first checkpoint leaves nothing to resume: remove it, so
        // that the same command can be run again.
        if (!options.resume && !existsSync(runFiles(dir).latest)) removeRunFiles(dir);
        throw e;
      }
    } finally {
      session.close();
    }
  } finally {
    release();
  }
}

/** Flags that `--resume` would not apply (the run's saved config decides): refused, not ignored. */
function refuseIgnoredFlags(options: TrainOptions): void {
  const given = [
    ['--config', options.file],
    ['--preset', options.preset],
    ['--model', options.model],
    ['--data', options.data],
    ['--out', options.out],
    ['--force', options.force],
    ...(options.shortcuts ?? []).map((flag) => [flag, true]),
    ['--set', (options.set?.length ?? 0) > (options.shortcuts?.length ?? 0) ? options.set : undefined],
  ].filter(([, v]) => v !== undefined && v !== false);
  if (given.length > 0) {
    throw new UsageError(
      `--resume continues ${options.resume} with its saved config; ${given.map(([f]) => f).join(', ')} would not apply: drop ${given.length > 1 ? 'them' : 'it'} (only --steps and --backend can change on resume), or start a new run with --out`,
    );
  }
}

async function loop(session: Session, dir: string, checkpoint: Checkpoint | undefined, options: TrainOptions, log: (l: string) => void): Promise<TrainResult> {
  const { config, trainer, dataset, model } = session;
  const t = config.train;
  const files = runFiles(dir);
  const resolved = { ...config, model: model.config };
  log(`staircase train → ${dir}`);
  log(formatBackendReport(session.backend));
  log(`model ${model.kind}: ${model.cost().parameters.toLocaleString('en')} parameters, ${model.cost().layerApplicationsPerToken} layer applications per token`);
  log(`config (staircase config explains every key):\n${formatConfigYaml(resolved, { explain: false }).trimEnd().replace(/^/gm, '  ')}`);
  writeAtomic(files.config, `${JSON.stringify(config, null, 2)}\n`);

  let best = Number.POSITIVE_INFINITY;
  if (checkpoint) {
    trainer.restore(checkpoint);
    best = Number((checkpoint.metadata as { bestValid?: number } | undefined)?.bestValid ?? best);
    // Resuming a finished run evaluates its end again: drop the record that will be rewritten.
    truncateMetrics(dir, checkpoint.step, checkpoint.step >= t.steps);
    log(`resumed at step ${checkpoint.step}`);
  }
  const batcher = dataset.splits.train.batcher({
    batch: t.batch,
    length: t.length,
    seed: t.seed,
    ...(checkpoint?.dataPosition ? { position: checkpoint.dataPosition as never } : {}),
  });
  const save = async (path: string) =>
    saveCheckpoint(
      path,
      await trainer.checkpoint({
        dataPosition: batcher.position(),
        tokenizer: dataset.tokenizer.toJSON(),
        metadata: { runConfig: config, bestValid: best, dataset: dataset.name },
      }),
    );
  const evaluate = (maxBatches?: number) =>
    evaluateSplit(session, dataset.splits.valid, { batch: t.batch, length: t.length, ...(maxBatches ? { maxBatches } : {}) });

  const bar = process.stderr.isTTY
    ? new SingleBar({ format: 'step {value}/{total} |{bar}| loss {loss} lr {lr} {tps} tok/s ETA {eta_formatted}', hideCursor: true }, undefined)
    : undefined;
  bar?.start(t.steps, trainer.stepCount, { loss: '-', lr: '-', tps: '-' });
  const losses: { step: number; loss: number }[] = [];
  let bad = 0;
  let interrupted = false;
  const started = Date.now();
  let tokens = 0;
  while (trainer.stepCount < t.steps) {
    // A training step resolves through microtasks only, so the event loop would not run a signal
    // handler (Ctrl-C, SIGTERM) until the next file write: give it a turn every step.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (options.signal?.stop) {
      interrupted = true;
      break;
    }
    const next = batcher.next();
    if (next.done) break;
    const batch: Batch = next.value;
    if (batch.reset.some(Boolean)) trainer.reset('train');
    const r = await trainer.step(batch);
    if (!r.applied) {
      bad++;
      log(`step ${trainer.stepCount + 1}: non-finite loss (${r.loss}) or gradient norm (${r.gradNorm}); update skipped (${bad}/${t.maxBadSteps})`);
      appendMetric(dir, { step: trainer.stepCount, event: 'skipped', loss: String(r.loss) });
      if (bad >= t.maxBadSteps) {
        bar?.stop();
        throw new TrainingStopped(
          `training stopped: ${bad} consecutive non-finite losses at step ${trainer.stepCount + 1} (try a lower train.lr); ${
            existsSync(files.latest) ? `the last good checkpoint is ${files.latest}` : `no checkpoint was written yet (the first is due at step ${t.checkpointEvery}): start again`
          }`,
        );
      }
      continue;
    }
    bad = 0;
    tokens += batch.batch * batch.length;
    const tps = Math.round(tokens / Math.max((Date.now() - started) / 1000, 1e-3));
    losses.push({ step: r.step, loss: r.loss });
    appendMetric(dir, { step: r.step, split: 'train', loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, tokensPerSecond: tps });
    if (bar) bar.update(r.step, { loss: r.loss.toFixed(4), lr: r.lr.toExponential(2), tps });
    else if (r.step === 1 || r.step % Math.max(1, Math.floor(t.steps / 10)) === 0) {
      log(`step ${r.step}/${t.steps} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)} ${tps} tok/s`);
    }
    if (r.step % t.evalEvery === 0 && r.step < t.steps) {
      const m = await evaluate(t.evalBatches);
      appendMetric(dir, { step: r.step, ...m });
      if (!bar) log(`step ${r.step} valid ${headline(m)}`);
      if (m.loss < best) {
        best = m.loss;
        await save(files.best);
      }
    }
    if (r.step % t.checkpointEvery === 0) await save(files.latest);
  }
  bar?.stop();
  await save(files.latest);
  if (interrupted) {
    log(`interrupted at step ${trainer.stepCount}: checkpoint saved to ${files.latest}; continue with --resume ${dir}`);
    await plots(dir, session, log);
    return { dir, steps: trainer.stepCount, losses, interrupted };
  }
  const valid = await evaluate(t.evalBatches);
  appendMetric(dir, { step: trainer.stepCount, ...valid });
  if (valid.loss < best) {
    best = valid.loss;
    await save(files.best);
  }
  log(`validation (${valid.count} positions): ${headline(valid)}`);
  let sample: string | undefined;
  if (options.sample !== false) sample = await writeSample(session, dir, log);
  await plots(dir, session, log);
  return { dir, steps: trainer.stepCount, losses, valid, interrupted, ...(sample === undefined ? {} : { sample }) };
}

async function writeSample(session: Session, dir: string, log: (l: string) => void): Promise<string> {
  const { config, dataset, trainer } = session;
  const s = config.sample;
  if (dataset.labelled) return '';
  const prompt = dataset.tokenizer.encode(s.prompt);
  const ids: number[] = [];
  for await (const id of generate(session, prompt, s.tokens, { ...s, seed: config.train.seed })) ids.push(id);
  const text = dataset.tokenizer.decode([...prompt, ...ids]);
  const file = join(runFiles(dir).samples, `step-${trainer.stepCount}.txt`);
  writeFileSync(file, text);
  // The log shows control characters escaped (a model's ESC would drive the terminal); the file keeps the text as generated.
  log(`sample (${s.tokens} tokens, temperature ${s.temperature}; as generated in ${file}):\n${escapeUnprintable(text)}`);
  return text;
}

let saidPlotsNeed = false;

/**
 * Renders the training and validation curves of a run to SVG, with units as the console names them.
 * Without vega and vega-lite (optional peers) the run has no plots and the log says so once.
 */
async function plots(dir: string, session: Session, log: (line: string) => void): Promise<void> {
  if (!(await plotsAvailable())) {
    if (!saidPlotsNeed) log(`plots skipped: ${PLOTS_NEED}`);
    saidPlotsNeed = true;
    return;
  }
  const records = readMetrics(dir);
  const train = records.filter((r) => r.split === 'train');
  const valid = records.filter((r) => r.split === 'valid');
  const f = runFiles(dir);
  const labelled = session.dataset.labelled;
  // What a scored position is: a byte, char, word or token (the console's bits/byte), a labelled position for tasks.
  const unit = labelled ? 'labelled position' : tokenUnit(session.dataset.tokenizer.kind);
  const loss = [
    ...train.map((r) => ({ step: Number(r.step), value: Number(r.loss), series: 'train loss' })),
    ...valid.map((r) => ({ step: Number(r.step), value: Number(r.loss), series: 'valid loss' })),
  ];
  writeAtomic(join(f.plots, 'loss.svg'), await lineChartSvg(`Loss (nats per ${unit})`, 'loss', loss));
  const metric = valid.map((r) => ({
    step: Number(r.step),
    value: labelled ? 100 * Number(r.errorRate) : Number(r.bitsPerToken),
    series: labelled ? 'valid error %' : `valid bits/${unit}`,
  }));
  const title = labelled ? 'Validation error rate (%)' : `Validation bits per ${unit}`;
  writeAtomic(join(f.plots, labelled ? 'error-rate.svg' : 'bits-per-token.svg'), await lineChartSvg(title, labelled ? 'error %' : `bits/${unit}`, metric));
}
