/**
 * The training worker: a Staircase and a Transformer-XL of equal core trained step by step in turn
 * on the random walk with TF.js (WebGPU where the adapter is real, else WASM), so the page stays
 * responsive. Validation runs over the whole valid split with the carried state, as `staircase
 * eval` does; pause/resume stop between steps; export traces the ONNX graphs from the same model.
 */
import { exportModel } from '@staircase/backend-onnx';
import { type Trainer, createTrainer, formatBackendReport, scoreBatches, selectBackend } from '@staircase/backend-tfjs';
import { type HostParams, type Model, createModel } from '@staircase/core';
import '@staircase/staircase';
import type { EvalMetrics } from '@staircase/data';
import { type TaskSplit, openTask } from './task-split.js';
import type { FromWorker, ToWorker, TrainSettings, TrainedKind } from './train-protocol.js';

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

interface Run {
  readonly kind: TrainedKind;
  readonly model: Model;
  readonly trainer: Trainer;
  readonly batcher: ReturnType<TaskSplit['batcher']>;
  valid?: EvalMetrics;
}

let paused = false;
// A step that runs on WASM resolves in microtasks only: without a macrotask break the worker would
// never see the page's pause message until training ends.
const yieldToMessages = () => new Promise<void>((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve();
  channel.port2.postMessage(null);
});
// Set while an export reads the weights: training waits, so the export and its score see one step.
let hold: Promise<void> | undefined;
let wake: (() => void) | undefined;
let runs: Run[] = [];
let current: { settings: TrainSettings; valid: TaskSplit; tokenizer: unknown; outputSize: number } | undefined;

function modelConfig(s: TrainSettings, kind: TrainedKind, vocabSize: number): Record<string, unknown> {
  const recurrence = kind === 'staircase' ? { chunk: s.chunk, passes: s.passes } : { memory: s.memory };
  return { kind, vocabSize, seed: s.seed, ...s.core, ...recurrence };
}

/** The run settings stored in an export, in the CLI's run-config shape (so `staircase eval --onnx` reads them). */
function runConfig(s: TrainSettings, run: Run) {
  const { vocabSize: _, ...model } = run.model.config as Record<string, unknown>;
  return {
    preset: 'playground',
    model,
    data: { spec: s.data.spec, seed: s.data.seed, task: s.data.task, episodes: s.data.episodes },
    train: {
      steps: s.steps, batch: s.batch, length: s.length, lr: s.lr, warmupSteps: s.warmupSteps,
      evalEvery: s.evalEvery, evalBatches: 1, checkpointEvery: s.evalEvery, seed: s.seed,
    },
    backend: 'auto',
  };
}

/** Scores the whole split with the carried state, as the CLI's `evaluateSplit` does. */
async function evaluate(run: Run, split: TaskSplit, s: TrainSettings): Promise<EvalMetrics> {
  const tally = split.tally();
  await scoreBatches(run.trainer, run.model, split.evalBatcher(s.batch, s.length), (b, picked, argmax) => tally.add(b, picked, argmax));
  return tally.metrics();
}

async function start(s: TrainSettings): Promise<void> {
  for (const r of runs) r.trainer.dispose();
  runs = [];
  const selection = await selectBackend({ backend: s.backend, wasmPaths: s.wasmPaths });
  post({ type: 'backend', name: selection.name, report: formatBackendReport(selection) });
  const { tokenizer, outputSize, split } = openTask(s.data);
  const train = split('train');
  current = { settings: s, valid: split('valid'), tokenizer: tokenizer.toJSON(), outputSize };
  for (const kind of ['staircase', 'transformer-xl'] as const) {
    const model = createModel(modelConfig(s, kind, outputSize));
    const trainer = createTrainer(model, {
      tf: selection.tf,
      seed: s.seed,
      optimizer: { lr: s.lr, warmupSteps: s.warmupSteps, totalSteps: s.steps },
    });
    const cost = model.cost();
    post({ type: 'model', kind, parameters: cost.parameters, layerApplications: cost.layerApplicationsPerToken });
    runs.push({ kind, model, trainer, batcher: train.batcher(s.batch, s.length) });
  }
  post({ type: 'state', state: 'running' });
  for (const run of runs) await report(run, 0);
  let last = performance.now();
  for (let step = 1; step <= s.steps; step++) {
    for (const run of runs) {
      if (paused) {
        post({ type: 'state', state: 'paused' });
        await new Promise<void>((resolve) => (wake = resolve));
        post({ type: 'state', state: 'running' });
      }
      await yieldToMessages();
      while (hold) await hold;
      const b = run.batcher.next().value;
      if (b.reset.some(Boolean)) run.trainer.reset('train');
      const r = await run.trainer.step(b);
      const now = performance.now();
      post({ type: 'step', kind: run.kind, step: r.step, loss: r.loss, tokensPerSecond: (b.batch * b.length * 1000) / Math.max(1e-3, now - last) });
      last = now;
      if (r.step % s.evalEvery === 0 || r.step === s.steps) await report(run, r.step);
    }
  }
  post({ type: 'state', state: 'done' });
}

async function report(run: Run, step: number): Promise<void> {
  run.valid = await evaluate(run, current!.valid, current!.settings);
  post({ type: 'eval', kind: run.kind, step, metrics: run.valid });
}

async function exportRun(kind: TrainedKind): Promise<void> {
  const run = runs.find((r) => r.kind === kind);
  if (!run || !current) throw new Error('nothing trained yet: start training first');
  let release = () => {};
  hold = new Promise<void>((resolve) => (release = resolve));
  try {
    const params: HostParams = await run.trainer.getParams();
    const exported = exportModel(run.model, params, { tokenizer: current.tokenizer, run: runConfig(current.settings, run) });
    const valid = await evaluate(run, current.valid, current.settings);
    post({ type: 'exported', kind, step: run.trainer.stepCount, files: { step: exported.step, segment: exported.segment }, valid }, [exported.step.buffer, exported.segment.buffer]);
  } finally {
    hold = undefined;
    release();
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  const fail = (err: unknown) => post({ type: 'error', message: String((err as Error)?.message ?? err).split('\n')[0]! });
  if (m.type === 'start') {
    paused = false;
    start(m.settings).catch(fail);
  } else if (m.type === 'pause') paused = true;
  else if (m.type === 'resume') {
    paused = false;
    wake?.();
    wake = undefined;
  } else if (m.type === 'export') exportRun(m.kind).catch(fail);
};
