/**
 * ONNX Runtime's own profiler (`enableProfiling`), read back as time per operator type.
 *
 * onnxruntime-node writes the profile as a Chrome trace file named after a prefix when profiling
 * ends; it returns neither the name nor the events. Each profiled session here gets its own
 * temporary directory as the prefix, so the one file in it is the profile.
 */
import { nodeOnlyImport } from './environment.js';
import type { OnnxProfile, OnnxProfileOp, ProfileOptions } from './types.js';

/** A profile being recorded: the session options that start it, and how to read and remove it. */
export interface ProfileRecording {
  readonly sessionOptions: Record<string, unknown>;
  /** Parses and summarises the written profile, then removes it. */
  read(options?: ProfileOptions): Promise<OnnxProfile>;
  /** Removes whatever was written (a session released without reading its profile). */
  discard(): Promise<void>;
}

/** Session options that make onnxruntime-node record a profile into a fresh temporary directory. */
export async function startProfile(): Promise<ProfileRecording> {
  const { mkdtemp, readdir, readFile, rm } = await nodeOnlyImport<typeof import('node:fs/promises')>('node:fs/promises');
  const { tmpdir } = await nodeOnlyImport<typeof import('node:os')>('node:os');
  const { join } = await nodeOnlyImport<typeof import('node:path')>('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'staircase-ort-profile-'));
  const discard = () => rm(dir, { recursive: true, force: true });
  return {
    discard,
    sessionOptions: { enableProfiling: true, profileFilePrefix: join(dir, 'profile') },
    async read(options) {
      try {
        const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
        if (files.length !== 1) throw new Error(`ONNX Runtime wrote ${files.length} profile files, expected 1`);
        return summarizeProfile(JSON.parse(await readFile(join(dir, files[0]!), 'utf8')), options);
      } finally {
        await discard();
      }
    },
  };
}

interface TraceEvent {
  readonly ts?: number;
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string; readonly input_type_shape?: readonly Record<string, number[]>[]; readonly output_type_shape?: readonly Record<string, number[]>[] };
}

// The int8 products (an int8 export, fused or not) count their integer operations the same way.
const PRODUCTS = new Set(['MatMul', 'FusedMatMul', 'Gemm', 'FusedGemm', 'MatMulInteger', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat']);

const shapeOf = (entry: Record<string, number[]> | undefined): number[] | undefined => (entry ? Object.values(entry)[0] : undefined);
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Floating-point operations of one product node, from its shapes: 2 · |output| · K, where K is the
 * inner dimension. `A` is `[…, M, K]`, or `[…, K, M]` when the node transposes it (a flag the
 * profile does not record), and `M` is the output's next-to-last dimension, so K = A₋₁ · A₋₂ / M
 * either way.
 */
export function productFlops(inputShapes: readonly (readonly number[])[], outputShape: readonly number[]): number | undefined {
  const a = inputShapes[0];
  if (!a || a.length < 2 || outputShape.length < 2) return undefined;
  const m = outputShape.at(-2)!;
  if (m === 0) return 0;
  return 2 * count(outputShape) * ((a.at(-1)! * a.at(-2)!) / m);
}

/**
 * Summarises an ONNX Runtime profile (the parsed Chrome trace): runs, mean time per run inside
 * the runtime, and per operator type the mean kernel time per run, the nodes per run and, for
 * matrix products, the floating-point operations per run (no run recorded: `runs` 0, no ops).
 * `skipRuns`: leave out the first runs (warm-up: the first run also plans memory).
 * Throws on something that is not a profile.
 */
export function summarizeProfile(trace: unknown, options: ProfileOptions = {}): OnnxProfile {
  if (!Array.isArray(trace)) throw new Error('not an ONNX Runtime profile: expected a JSON array of trace events');
  const events = trace as TraceEvent[];
  const isRun = (e: TraceEvent) => e.cat === 'Session' && e.name === 'model_run';
  // Runs are timed from their start, and a node's event falls inside its run: what starts before
  // the first kept run belongs to the skipped ones.
  const starts = events.filter(isRun).map((e) => e.ts ?? 0).sort((a, b) => a - b);
  const skip = options.skipRuns ?? 0;
  const from = skip === 0 ? -Infinity : (starts[skip] ?? Infinity);
  let runs = 0;
  let runMicros = 0;
  const byOp = new Map<string, { micros: number; events: number; flops: number | undefined }>();
  for (const e of events) {
    if ((e.ts ?? 0) < from) continue;
    if (isRun(e)) {
      runs++;
      runMicros += e.dur ?? 0;
    } else if (e.cat === 'Node' && e.name?.endsWith('_kernel_time') && e.args?.op_name) {
      const op = e.args.op_name;
      const entry = byOp.get(op) ?? { micros: 0, events: 0, flops: PRODUCTS.has(op) ? 0 : undefined };
      entry.micros += e.dur ?? 0;
      entry.events++;
      if (entry.flops !== undefined) {
        const inputs = (e.args.input_type_shape ?? []).map(shapeOf).filter((s): s is number[] => s !== undefined);
        const output = shapeOf(e.args.output_type_shape?.[0]);
        const flops = output ? productFlops(inputs, output) : undefined;
        entry.flops = flops === undefined ? undefined : entry.flops + flops;
      }
      byOp.set(op, entry);
    }
  }
  if (runs === 0) return { runs: 0, msPerRun: 0, ops: [] };
  const ops: OnnxProfileOp[] = [...byOp]
    .map(([op, { micros, events, flops }]) => ({
      op,
      msPerRun: micros / runs / 1000,
      nodes: events / runs,
      ...(flops !== undefined ? { flopsPerRun: flops / runs } : {}),
    }))
    .sort((a, b) => b.msPerRun - a.msPerRun);
  return { runs, msPerRun: runMicros / runs / 1000, ops };
}
