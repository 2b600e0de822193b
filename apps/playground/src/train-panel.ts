/**
 * The training section: starts the worker, draws both models' validation error as it arrives,
 * pauses and resumes, and turns an export into two downloads plus an open model in the page.
 */
import type { OnnxModelFiles } from '@staircase/backend-onnx';
import type { EvalMetrics } from '@staircase/data';
import type { Series, drawCurves } from './curves.js';
import type { FromWorker, ToWorker, TrainSettings, TrainedKind } from './train-protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const COLORS: Record<TrainedKind, string> = { staircase: '#0969da', 'transformer-xl': '#cf222e' };
const NAMES: Record<TrainedKind, string> = { staircase: 'Staircase', 'transformer-xl': 'Transformer-XL' };

/** The tab's training budget: seconds to a minute on a laptop's CPU, so a reader sees the curves part. */
export function defaultSettings(steps: number, chunk: number, passes: number, backend: TrainSettings['backend']): TrainSettings {
  return {
    data: { spec: 'random-walk', seed: 0, task: { ringSize: 4, queryInterval: 2, episodeLength: 24 }, episodes: { train: 2000, valid: 40, test: 40 } },
    core: { dModel: 32, heads: 2, layers: 2, dFF: 64, dropout: 0, position: { type: 'relative', maxDistance: 32 } },
    chunk,
    passes,
    memory: 8,
    steps,
    batch: 4,
    length: 16,
    lr: 3e-3,
    warmupSteps: 20,
    evalEvery: 25,
    seed: 0,
    backend,
    wasmPaths: new URL('./tfjs/', document.baseURI).href,
  };
}

/** What the tests read: the curves so far and the worker's state. */
export interface TrainProgress {
  state: 'idle' | 'running' | 'paused' | 'done' | 'error';
  backend?: string;
  error?: string;
  losses: Record<TrainedKind, { step: number; loss: number }[]>;
  evals: Record<TrainedKind, { step: number; metrics: EvalMetrics }[]>;
  exported?: { kind: TrainedKind; step: number; valid: EvalMetrics; files: OnnxModelFiles };
}

export class TrainPanel {
  private worker: Worker | undefined;
  private settings: TrainSettings | undefined;
  readonly progress: TrainProgress = { state: 'idle', losses: { staircase: [], 'transformer-xl': [] }, evals: { staircase: [], 'transformer-xl': [] } };
  private readonly costs: Partial<Record<TrainedKind, string>> = {};
  private links: string[] = [];

  constructor(private readonly hooks: { onExported: (files: OnnxModelFiles, label: string) => Promise<unknown>; draw: typeof drawCurves }) {
    $('train-start').addEventListener('click', () => this.start());
    $('train-pause').addEventListener('click', () => this.send({ type: 'pause' }));
    $('train-resume').addEventListener('click', () => this.send({ type: 'resume' }));
    $('train-export').addEventListener('click', () => this.send({ type: 'export', kind: 'staircase' }));
    this.redraw();
  }

  /** Starts (or restarts) training with the section's inputs, or `settings`. */
  start(settings?: TrainSettings): void {
    const steps = Number($<HTMLInputElement>('train-steps').value);
    const chunk = Number($<HTMLInputElement>('train-chunk').value);
    const passes = Number($<HTMLInputElement>('train-passes').value);
    if (!settings && ![steps, chunk, passes].every((v) => Number.isInteger(v) && v >= 1)) {
      this.status('steps, F and n are whole numbers ≥ 1');
      return;
    }
    this.worker?.terminate();
    this.settings = settings ?? defaultSettings(steps, chunk, passes, $<HTMLSelectElement>('train-backend').value as TrainSettings['backend']);
    Object.assign(this.progress, { state: 'running', backend: undefined, error: undefined, exported: undefined });
    this.progress.losses = { staircase: [], 'transformer-xl': [] };
    this.progress.evals = { staircase: [], 'transformer-xl': [] };
    this.worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(e.message || 'the training worker failed to start');
    this.send({ type: 'start', settings: this.settings });
    this.status('starting…');
    this.buttons();
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  private fail(message: string): void {
    this.progress.state = 'error';
    this.progress.error = message;
    this.status(`training stopped: ${message}`);
    this.buttons();
  }

  private receive(m: FromWorker): void {
    const p = this.progress;
    switch (m.type) {
      case 'backend':
        p.backend = m.name;
        this.status(`TF.js ${m.report.split('\n')[0]}`);
        break;
      case 'model':
        this.costs[m.kind] = `${NAMES[m.kind]}: ${m.parameters.toLocaleString('en')} parameters, ${m.layerApplications} layer applications per token`;
        break;
      case 'step':
        p.losses[m.kind].push({ step: m.step, loss: m.loss });
        if (m.kind === 'staircase') this.status(`step ${m.step}/${this.settings!.steps} · train loss ${m.loss.toFixed(3)} · ${Math.round(m.tokensPerSecond)} tokens/s per model`);
        break;
      case 'eval':
        p.evals[m.kind].push({ step: m.step, metrics: m.metrics });
        this.redraw();
        break;
      case 'state':
        p.state = m.state;
        if (m.state !== 'running') this.status(m.state === 'paused' ? 'paused — resume continues exactly where it stopped' : 'done');
        break;
      case 'exported':
        p.exported = { kind: m.kind, step: m.step, valid: m.valid, files: m.files };
        this.offerDownloads(m.kind, m.step, m.files);
        this.hooks.onExported(m.files, `random-walk-${m.kind}-step-${m.step}`).catch(() => {});
        break;
      case 'error':
        this.fail(m.message);
        return;
    }
    this.buttons();
  }

  private offerDownloads(kind: TrainedKind, step: number, files: OnnxModelFiles): void {
    for (const url of this.links) URL.revokeObjectURL(url);
    const base = `random-walk-${kind}-step-${step}`;
    const holder = $('train-export-links');
    holder.replaceChildren(`${NAMES[kind]} at step ${step}, exported and opened above. Download both files: `);
    this.links = [];
    for (const [name, bytes] of [[`${base}.onnx`, files.step], [`${base}.segment.onnx`, files.segment]] as const) {
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      this.links.push(url);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.textContent = name;
      holder.append(a, ' ');
    }
  }

  private buttons(): void {
    const s = this.progress.state;
    $<HTMLButtonElement>('train-pause').disabled = s !== 'running';
    $<HTMLButtonElement>('train-resume').disabled = s !== 'paused';
    $<HTMLButtonElement>('train-export').disabled = !(s === 'paused' || s === 'done');
  }

  private status(text: string): void {
    const costs = Object.values(this.costs).join('\n');
    $('train-status').textContent = costs ? `${text}\n${costs}` : text;
  }

  private redraw(): void {
    const series: Series[] = (['staircase', 'transformer-xl'] as const).map((kind) => ({
      name: `${NAMES[kind]}${this.settings && kind === 'staircase' ? ` (F ${this.settings.chunk}, n ${this.settings.passes})` : ''} — valid error`,
      color: COLORS[kind],
      points: this.progress.evals[kind].map((e) => ({ step: e.step, value: e.metrics.errorRate ?? e.metrics.loss })),
    }));
    $('train-curves').replaceChildren(this.hooks.draw(series, { maxStep: this.settings?.steps ?? 300, yLabel: 'validation error', yMax: 1 }));
  }
}
