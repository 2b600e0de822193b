#!/usr/bin/env node
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { type EvalReport, configCommand, describeScored, evalCommand, evalRecord, formatPackages, headline, infoCommand, sampleCommand } from './commands.js';
import { addBenchOptions, number, wholeNumber } from './bench-options.js';
import { addShortcuts, shortcutAssignments } from './shortcuts.js';
import { UsageError, isUserError } from './errors.js';
import type { EvalMetrics } from './evaluate.js';
import { exportCommand } from './onnx.js';
import { escapeUnprintable } from './printable.js';
import { batchProgress } from './progress.js';
import { describePresets } from './presets.js';
import { train } from './train-loop.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const integer = wholeNumber;

/** This package's version (package.json sits one level above both `src/` and `dist/`). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const PRESET_HELP = 'tiny | small | base (default: small)';
const MODEL_HELP = 'transformer-xl | staircase | cached-staircase | global-staircase | ladder | staircase-ladder (default: staircase)';

/** The options that resolve a run config (train, config, info): file, preset, model, data, --set, the shortcuts. */
function addConfigSources(command: Command, what: 'train' | 'show'): Command {
  command
    .option('--config <file>', 'run config (JSON or YAML; staircase config prints one)')
    .option('--preset <name>', PRESET_HELP)
    .option('--model <kind>', MODEL_HELP)
    .option('--data <spec>', 'brown | text:PATH[,PATH...] | enwik8:PATH | algorithmic:3var | algorithmic:5var | random-walk (default: brown)')
    .option('--set <key=value>', 'override a config value (repeatable), e.g. --set model.dModel=64; staircase config lists every key', collect, [])
    .option('--backend <name>', 'auto | tfjs-node-gpu | tfjs-node | webgpu | wasm | cpu (default: STAIRCASE_BACKEND, else auto)');
  if (what === 'train') {
    command.option(
      '--steps <n>',
      'training steps (default: the preset\'s, tiny 12, small 500, base 20000; with --resume: the new total, the learning-rate schedule keeps its length)',
      integer,
    );
  } else command.option('--steps <n>', "training steps (default: the preset's)", integer);
  return addShortcuts(command);
}

/** The config sources of parsed options, the shortcuts turned into `--set` assignments (before the `--set` ones). */
function configSources(o: Record<string, unknown>) {
  const shortcuts = shortcutAssignments(o);
  return { ...o, file: o.config as string | undefined, set: [...shortcuts.map((a) => a.assignment), ...(o.set as string[])], shortcuts: shortcuts.map((a) => a.flag) };
}

/** Builds the `staircase` command line. */
export function program(): Command {
  const cli = new Command('staircase')
    .description('Train, evaluate and sample Staircase / Ladder models.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError(false);
  cli.configureOutput({ outputError: (str, write) => write(str.trim().split('\n')[0]!.replace(/^error: /, 'staircase: ') + '\n') });

  addConfigSources(cli.command('train').description(`train a model; presets: ${describePresets()}`), 'train')
    .option('--out <dir>', 'run directory (default: runs/KIND-DATA-YYYYMMDD-HHMMSS, the UTC start time)')
    .option('--resume <dir>', 'continue the run in DIR exactly where its last checkpoint stopped')
    .option('--extend-schedule', 'with --resume --steps N: stretch the cosine schedule over the N steps (the learning rate changes)')
    .option('--force', 'overwrite a non-empty --out directory')
    .action(async (o) => {
      const signal = stopOnSignals();
      const env = envBackend();
      const result = await train({ ...configSources(o), signal, ...(env ? { defaultBackend: env } : {}) });
      process.stdout.write(
        result.interrupted
          ? `stopped at step ${result.steps}; resume with: staircase train --resume ${result.dir}\n`
          : `done: ${result.steps} steps, validation ${result.valid ? headline(result.valid) : '-'}; run directory ${result.dir}\n`,
      );
    });

  cli
    .command('eval')
    .description('score a whole split')
    .option('--run <dir>', 'run directory (uses its best checkpoint)')
    .option('--checkpoint <file>', 'a checkpoint file')
    .option('--data <spec>', 'data to score (default: the data the model was trained on, as its run config names it)')
    .option('--split <name>', 'valid | test', 'valid')
    .option('--max-batches <n>', 'score only the first N batches (default: the whole split)', integer)
    .option('--backend <name>', "backend (default: STAIRCASE_BACKEND, else the run's)")
    .option('--runtime <name>', 'tfjs | onnx (ONNX Runtime, exporting the checkpoint on the fly) (default: tfjs, onnx with --onnx)')
    .option('--device <name>', 'with --runtime onnx: auto | webgpu | wasm | cpu (default: auto)')
    .option('--onnx <file>', 'an exported model.onnx to run (implies --runtime onnx)')
    .option('--quantize <type>', 'with --runtime onnx and a checkpoint: int8 weight products (dynamic quantization) (default: float32)')
    .option('--by-position', "labelled tasks: the error rate by the query's index within its episode")
    .option('--json', 'print one JSON object')
    .action(async (o) => {
      if (o.maxBatches === 0) throw new UsageError('--max-batches 0: expected at least 1 (leave it out to score the whole split)');
      const progress = batchProgress(`eval ${o.split}`);
      let m: EvalReport;
      try {
        m = await evalCommand({ ...withEnvBackend(o), ...(progress ? { onBatch: progress.update } : {}) });
      } finally {
        progress?.stop();
      }
      if (o.json) process.stdout.write(`${JSON.stringify(evalRecord(m))}\n`);
      else {
        const skipped = m.skipped ? `; ${m.skipped} not scored: their batch row starts inside the episode` : '';
        process.stdout.write(`${describeScored(m)}\n${m.split} (${m.count} positions${skipped}): ${headline(m)}\n${formatByPosition(m)}`);
      }
    });

  cli
    .command('sample')
    .description('generate text with the streaming step (or label a task episode)')
    .option('--run <dir>', 'run directory (uses its best checkpoint)')
    .option('--checkpoint <file>', 'a checkpoint file')
    .option('--prompt <text>', "text to continue (default: the run's sample.prompt, empty unless set)")
    .option('--prompt-file <file>', 'read the text to continue from a file (for long prompts)')
    .option('--tokens <n>', "tokens to generate (default: the run's sample.tokens, 200 unless set)", integer)
    .option('--temperature <t>', "0 = greedy (default: the run's sample.temperature, 0.8 unless set)", number)
    .option('--top-k <k>', "keep the k most likely tokens, 0 = all (default: the run's sample.topK, 0 unless set)", integer)
    .option('--top-p <p>', "nucleus sampling threshold, 1 = off (default: the run's sample.topP, 0.95 unless set)", number)
    .option('--seed <s>', "sampling seed (default: the run's train.seed)", integer)
    .option('--backend <name>', "backend (default: STAIRCASE_BACKEND, else the run's)")
    .option('--runtime <name>', 'tfjs | onnx (ONNX Runtime, exporting the checkpoint on the fly) (default: tfjs, onnx with --onnx)')
    .option('--device <name>', 'with --runtime onnx: auto | webgpu | wasm | cpu (default: auto)')
    .option('--onnx <file>', 'an exported model.onnx to run (implies --runtime onnx)')
    .option('--quantize <type>', 'with --runtime onnx and a checkpoint: int8 weight products (dynamic quantization) (default: float32)')
    .option('--json', 'print one JSON object instead of streaming text')
    .action(async (o) => {
      checkSampling(o);
      if (o.promptFile !== undefined) {
        if (o.prompt !== undefined) throw new UsageError('give --prompt or --prompt-file, not both');
        if (!existsSync(o.promptFile) || statSync(o.promptFile).isDirectory()) throw new UsageError(`--prompt-file ${o.promptFile}: no such file`);
        o.prompt = readFileSync(o.promptFile, 'utf8');
        delete o.promptFile;
      }
      // On a terminal, control characters a model generated (ESC …) are shown escaped, not acted on;
      // redirected output (and samples/*.txt, --json) keeps the text as generated.
      const show = process.stdout.isTTY ? escapeUnprintable : (t: string) => t;
      const write = o.json ? undefined : (t: string) => process.stdout.write(show(t));
      const r = await sampleCommand({ ...withEnvBackend(o), ...(write ? { write } : {}) });
      process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : '\n');
    });

  cli
    .command('export')
    .description('export a trained model as ONNX: FILE.onnx (streaming step) and FILE.segment.onnx (scoring)')
    .option('--run <dir>', 'run directory (uses its best checkpoint)')
    .option('--checkpoint <file>', 'a checkpoint file')
    .requiredOption('--out <file>', 'where to write the step graph (FILE.onnx)')
    .option('--step-tokens <n>', 'tokens per run of the step graph (default: the chunk size, or 1)', integer)
    .option('--segment-tokens <n>', 'tokens per run of the segment graph (default: 8 steps, at least 64)', integer)
    .option('--max-positions <n>', 'global-staircase only: positions the export models exactly (default: 4096)', integer)
    .option('--quantize <type>', 'int8: store the weight products as int8 (about a third of the float32 size; faster on CPUs with integer dot products) (default: float32)')
    .option('--json', 'print one JSON object')
    .action(async (o) => {
      const r = await exportCommand(o);
      process.stdout.write(
        o.json
          ? `${JSON.stringify(r)}\n`
          : `exported ${r.kind}: ${r.files.step} (step, ${r.stepTokens} tokens/run) and ${r.files.segment} (segment, ${r.segmentTokens} tokens/run), ${r.stateTensors} state tensors, ${r.weights} weights\n`,
      );
    });

  addConfigSources(cli.command('config').description('print the resolved run config as YAML, every key --set accepts with its meaning (train --config reads it back)'), 'show')
    .option('--json', 'print the resolved config as one JSON object')
    .action(async (o) => {
      const env = envBackend();
      process.stdout.write(await configCommand({ ...configSources(o), ...(env ? { defaultBackend: env } : {}), ...(o.json ? { json: true } : {}) }));
    });

  addConfigSources(cli.command('info').description('backends, ONNX Runtime devices, model kinds, parameters and layer applications per token of a config, and the optional packages each device needs'), 'show')
    .option('--json', 'print one JSON object')
    .action(async (o) => {
      const info = await infoCommand(configSources(o));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      const m = info.model as { kind: string; parameters: number; layerApplicationsPerToken: number };
      const devices = (info.onnxDevices as { device: string; available: boolean; reason?: string }[])
        .map((d) => `  ${d.device}: ${d.available ? '' : 'unavailable: '}${d.reason ?? ''}`)
        .join('\n');
      process.stdout.write(
        `${(info.backend as { report: string }).report}\nonnx runtime devices:\n${devices}\nmodel kinds: ${(info.kinds as string[]).join(', ')}\n` +
          `${m.kind}: ${m.parameters.toLocaleString('en')} parameters, ${m.layerApplicationsPerToken} layer applications per token\n` +
          `${formatPackages(info.packages as Parameters<typeof formatPackages>[0])}\n`,
      );
    });

  const experiment = cli.command('experiment').description('run a comparison of models × seeds from an experiment file, and report it');
  experiment
    .command('run <file>')
    .description('train every (model, seed) of an experiment file that is not finished (resuming any that stopped), then score it')
    .option('--parallel <n>', 'runs at once, one process (one core) each', integer, 1)
    .option('--only <models>', 'only these models (comma-separated names from the file)')
    .option('--seeds <list>', "these seeds instead of the file's, e.g. 0,1,2")
    .option('--runs <dir>', 'where run directories go', 'runs/experiments')
    .option('--results <dir>', 'published reports: a run whose summary is there (same config) is done', 'docs/results')
    .option('--no-results', 'train runs even when their results are published')
    .action(async (file: string, o) => {
      const { runExperiment, parseSeeds } = await import('./experiment/index.js');
      const signal = { stop: false };
      const summaries = await runExperiment(file, {
        parallel: o.parallel,
        runsDir: o.runs,
        resultsDir: o.results === false ? null : o.results,
        signal,
        ...(o.only ? { only: String(o.only).split(',').map((s: string) => s.trim()) } : {}),
        ...(o.seeds ? { seeds: parseSeeds(o.seeds) } : {}),
      });
      if (signal.stop) {
        process.stdout.write(`interrupted (${summaries.length} runs finished); run the same command again to continue\n`);
        process.exitCode = 130;
      } else process.stdout.write(`${summaries.length} runs finished; write the report with: staircase experiment report ${file}\n`);
    });
  experiment
    .command('report <file>')
    .description('write the markdown table and SVG plots of an experiment from its finished runs')
    .option('--out <dir>', 'where the report goes', 'docs/results')
    .option('--index <file>', 'the page that links every report', 'docs/RESULTS.md')
    .option('--runs <dir>', 'where the run directories are', 'runs/experiments')
    .action(async (file: string, o) => {
      const { reportExperiment } = await import('./experiment/index.js');
      const r = await reportExperiment(file, { outDir: o.out, index: o.index, runsDir: o.runs });
      process.stdout.write(`${r.markdown}\nwrote ${r.files.length} files${r.missing.length ? `; ${r.missing.length} runs not finished yet` : ''}\n`);
    });

  addBenchOptions(
    cli.command('bench').description('measure training/evaluation tokens/s, memory, tensor leaks and streaming latency per model and backend'),
  ).action(async (o) => {
      const { benchCommand } = await import('./bench-cli.js');
      await benchCommand(o);
    });
  return cli;
}

/** `STAIRCASE_BACKEND`, the default of `--backend` (documented in --help). */
function envBackend(): string | undefined {
  const v = process.env.STAIRCASE_BACKEND?.trim();
  return v ? v : undefined;
}

function withEnvBackend<T extends { backend?: string }>(o: T): T {
  const backend = o.backend ?? envBackend();
  return backend ? { ...o, backend } : o;
}

/** The sampling flags, checked by the run config's own rules (one line each). */
function checkSampling(o: { temperature?: number; topP?: number }): void {
  if (o.temperature !== undefined && o.temperature < 0) throw new UsageError(`--temperature ${o.temperature}: expected ≥ 0 (0 = greedy)`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new UsageError(`--top-p ${o.topP}: expected a number in (0, 1] (1 = off)`);
}

/**
 * Ctrl-C or SIGTERM: finish the step and save a checkpoint. A second one stops at once; the last
 * complete checkpoint is intact (files are replaced atomically) and a later start removes the
 * temporary file an interrupted write left.
 */
function stopOnSignals(): { stop: boolean } {
  const signal = { stop: false };
  let first = 0;
  const handler = (name: NodeJS.Signals) => {
    // The same stop often arrives twice at once (from the terminal or a process-group kill, and
    // from an `experiment run` parent passing it on): one within a second counts once.
    if (signal.stop && Date.now() - first < 1000) return;
    if (signal.stop) {
      process.stderr.write(`\n${name} again: stopping now without saving; the last complete checkpoint is intact\n`);
      process.exit(130);
    }
    signal.stop = true;
    first = Date.now();
    process.stderr.write(`\n${name === 'SIGINT' ? 'Ctrl-C' : name}: finishing this step and saving a checkpoint... (again to stop at once)\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return signal;
}

/** The by-position error rates of `eval --by-position`, a line per query index. */
function formatByPosition(m: EvalMetrics): string {
  if (!m.byPosition) return '';
  return `error by query index within the episode:\n${m.byPosition.map((p) => `  ${String(p.index).padStart(3)}: ${(100 * p.errorRate).toFixed(2)}% of ${p.count}`).join('\n')}\n`;
}

const FS_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device: free some space',
  EDQUOT: 'the disk quota is exceeded: free some space',
  EROFS: 'the file system is read-only: write somewhere else (--out)',
  EACCES: 'permission denied: fix the permissions or write somewhere else (--out)',
  EPERM: 'operation not permitted: fix the permissions or write somewhere else (--out)',
  EISDIR: 'it is a directory, not a file: give a file',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory: check the path',
};

/** One line for a file-system failure (disk full, read-only, permissions), or undefined. */
function describeFsError(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  const what = err && typeof err.code === 'string' ? FS_ERRORS[err.code] : undefined;
  if (!what) return undefined;
  const writing = ['ENOSPC', 'EDQUOT', 'EROFS'].includes(err.code!) || /write|rename|mkdir|copy/.test(err.syscall ?? '');
  return `cannot ${err.syscall ?? 'write'} ${err.path ?? 'a file'}: ${what} (${err.code})${
    writing ? '; files are replaced atomically, so the last complete checkpoint is intact (continue with --resume DIR)' : ''
  }`;
}

/** Runs the CLI; a user's mistake prints one line and exits 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (isUserError(e)) {
      process.stderr.write(`staircase: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    const fsError = describeFsError(e);
    if (fsError) {
      process.stderr.write(`staircase: ${fsError}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

void main(process.argv);
