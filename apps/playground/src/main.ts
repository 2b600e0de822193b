/**
 * The page: opens an export (picked, dropped, the demo, or one trained in this tab), generates and
 * scores with it, trains a Staircase and a Transformer-XL in a worker, and draws the schedule.
 * `globalThis.playground` exposes the same actions the buttons run, for the end-to-end tests.
 */
import type { OnnxModel, OnnxModelFiles } from '@staircase/backend-onnx';
import { scoreBatches } from '@staircase/backend-onnx';
import type { EvalMetrics } from '@staircase/data';
import { drawCurves } from './curves.js';
import { type GenerateOptions, generateText, scoreText } from './generation.js';
import { type Device, chooseDevice, openExport, pickExport } from './open-model.js';
import { describeSchedule, drawSchedule } from './schedule-view.js';
import { type TaskData, openTask } from './task-split.js';
import { TrainPanel } from './train-panel.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

let model: OnnxModel | undefined;
let modelName = '';
let stopRequested = false;

function showError(where: string, e: unknown): void {
  const el = $(where);
  el.textContent = String((e as Error)?.message ?? e).split('\n')[0]!;
  el.hidden = false;
}

/** Opens `files` on the chosen device, replacing the open model; returns what it chose and why. */
async function open(files: OnnxModelFiles, names: { step: string; segment: string }, label: string, requested?: Device) {
  $('model-error').hidden = true;
  $('model-status').textContent = `opening ${label}…`;
  const device = requested ?? ($<HTMLSelectElement>('device').value as Device);
  try {
    const choice = await chooseDevice(device);
    const opened = await openExport(files, names, choice.device);
    await model?.release();
    model = opened;
    modelName = label;
    const m = opened.metadata;
    const run = m.run as { data?: { spec?: string } } | undefined;
    $('model-status').textContent =
      `${label}: ${m.kind}, vocabulary ${m.vocabSize}, segment graph ${opened.segmentMetadata.tokens} tokens per run, self-check passed.\n` +
      `device: ${opened.device} — ${choice.why}`;
    for (const id of ['run-generate', 'run-score']) $<HTMLButtonElement>(id).disabled = false;
    const task = run?.data?.spec === 'random-walk';
    $('run-valid').hidden = !task;
    $<HTMLButtonElement>('run-valid').disabled = !task;
    return { device: opened.device, why: choice.why };
  } catch (e) {
    $('model-status').textContent = model ? `still open: ${modelName}` : 'No model open.';
    showError('model-error', e);
    throw e;
  }
}

async function openDemo(device?: Device) {
  const get = async (name: string) => {
    const r = await fetch(new URL(`./demo/${name}`, document.baseURI));
    if (!r.ok) throw new Error(`the demo model is missing (${name}: HTTP ${r.status}); build the page with pnpm --filter @staircase/playground build`);
    return new Uint8Array(await r.arrayBuffer());
  };
  const files = { step: await get('model.onnx'), segment: await get('model.segment.onnx') };
  return open(files, { step: 'demo/model.onnx', segment: 'demo/model.segment.onnx' }, 'the demo model (tiny Staircase, Brown bytes)', device);
}

function readGenerateOptions(): GenerateOptions {
  return {
    prompt: $<HTMLTextAreaElement>('prompt').value,
    tokens: num('tokens'),
    temperature: num('temperature'),
    topK: num('top-k'),
    topP: num('top-p'),
    seed: num('seed'),
  };
}

async function runGenerate(options: GenerateOptions = readGenerateOptions()) {
  if (!model) throw new Error('open a model first');
  const out = $('output');
  out.textContent = '';
  stopRequested = false;
  $<HTMLButtonElement>('run-generate').disabled = true;
  $<HTMLButtonElement>('stop-generate').disabled = false;
  const t0 = performance.now();
  let count = 0;
  try {
    const ids = await generateText(
      model,
      options,
      (_id, text) => {
        count++;
        out.textContent = options.prompt + text;
        $('speed').textContent = `${count} tokens, ${((1000 * count) / (performance.now() - t0)).toFixed(1)} tokens/s on ${model!.device}`;
      },
      () => stopRequested,
    );
    return { ids, text: out.textContent };
  } catch (e) {
    $('speed').textContent = String((e as Error).message).split('\n')[0]!;
    throw e;
  } finally {
    $<HTMLButtonElement>('run-generate').disabled = false;
    $<HTMLButtonElement>('stop-generate').disabled = true;
  }
}

async function runScore(text = $<HTMLTextAreaElement>('score-text').value) {
  if (!model) throw new Error('open a model first');
  try {
    const s = await scoreText(model, text);
    $('score-result').textContent = `${s.bitsPerToken.toFixed(4)} bits/${s.unit} over ${s.count} predicted ${s.unit}s (${model.device})`;
    return s;
  } catch (e) {
    $('score-result').textContent = String((e as Error).message).split('\n')[0]!;
    throw e;
  }
}

/** Scores the open export on its random-walk valid split, exactly as `staircase eval --onnx` does. */
async function scoreValid(): Promise<EvalMetrics> {
  if (!model) throw new Error('open a model first');
  const run = model.metadata.run as { data: TaskData; train: { batch: number; length: number } } | undefined;
  if (run?.data?.spec !== 'random-walk') throw new Error('this export was not trained on the random walk');
  const split = openTask(run.data).split('valid');
  const tally = split.tally();
  await scoreBatches(model, split.evalBatcher(run.train.batch, run.train.length), (b, picked, argmax) => tally.add(b, picked, argmax));
  const m = tally.metrics();
  $('score-result').textContent = `valid split: error ${(100 * m.errorRate!).toFixed(2)} %, loss ${m.loss.toFixed(4)} over ${m.count} queries (${model.device})`;
  return m;
}

function drawScheduleNow() {
  const [F, n, chunks] = [num('sched-chunk'), num('sched-passes'), num('sched-chunks')];
  const holder = $('sched-svg');
  if (![F, n, chunks].every((v) => Number.isInteger(v) && v >= 1) || n > 12 || chunks > 16) {
    $('sched-text').textContent = 'F, n and chunks are whole numbers ≥ 1 (n ≤ 12, chunks ≤ 16)';
    return;
  }
  holder.replaceChildren(drawSchedule(F, n, chunks));
  $('sched-text').textContent = `${describeSchedule(F, n, 2)} Row r holds chunks r−n+1 … r; the number in a cell is that chunk's pass.`;
}

function wire() {
  const isolated = globalThis.crossOriginIsolated;
  $('isolation').textContent = isolated ? '' : 'This page is not cross-origin isolated (the host sends no COOP/COEP headers): WASM runs single-threaded.';
  $('demo').addEventListener('click', () => openDemo().catch(() => {}));
  const fromFiles = (list: FileList | null) =>
    pickExport(Array.from(list ?? []))
      .then(({ files, names }) => open(files, names, names.step))
      .catch((e) => showError('model-error', e));
  $<HTMLInputElement>('files').addEventListener('change', (e) => fromFiles((e.target as HTMLInputElement).files));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    fromFiles(e.dataTransfer?.files ?? null);
  });
  $('run-generate').addEventListener('click', () => runGenerate().catch(() => {}));
  $('stop-generate').addEventListener('click', () => (stopRequested = true));
  $('run-score').addEventListener('click', () => runScore().catch(() => {}));
  $('run-valid').addEventListener('click', () => scoreValid().catch((e) => ($('score-result').textContent = String(e.message))));
  for (const id of ['sched-chunk', 'sched-passes', 'sched-chunks']) $(id).addEventListener('input', drawScheduleNow);
  drawScheduleNow();
}

wire();
const train = new TrainPanel({
  onExported: (files, label) => open(files, { step: `${label}.onnx`, segment: `${label}.segment.onnx` }, label),
  draw: drawCurves,
});

(globalThis as { playground?: unknown }).playground = {
  openDemo,
  open,
  generate: runGenerate,
  score: runScore,
  scoreValid,
  /** Segment-graph logits of `tokens` from an empty state (one row), for numeric checks. */
  segmentLogits: async (tokens: number[]) => {
    if (!model) throw new Error('open a model first');
    return Array.from(await model.stream(1, 'segment').append(tokens, tokens.length));
  },
  device: () => model?.device,
  train,
};
