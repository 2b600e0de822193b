/**
 * Which execution provider each node of a model lands on. ORT reports this only in its verbose
 * session log, which native code (onnxruntime-node) writes straight to fd 2 and the wasm build
 * writes through console: neither can be captured reliably in-process, so a short-lived child Node
 * process opens the session with verbose logging and this side parses what it printed.
 */
import onnxProto from 'onnx-proto';
import { isNode, nodeOnlyImport } from './environment.js';
import { firstLine } from './errors.js';
import { mergePlacement, parsePlacementLog, placementNodes } from './placement-log.js';
import type { NodePlacementReport, PlacedNode } from './types.js';
import { patchWriteBuffer } from './webgpu.js';

const MARK = '@@staircase-placement';

/** Options of {@link nodePlacement}. */
export interface NodePlacementOptions {
  device: 'webgpu' | 'wasm' | 'cpu';
  /** Child process time limit, default 180 s (WebGPU on a software adapter is slow to start). */
  timeoutMs?: number;
}

/**
 * Opens `model` on `device` in a child Node process with ORT's verbose log on and reports where
 * each node went. `fallbacks` lists nodes that landed on the CPU EP although WebGPU was asked for.
 * When ORT says "all nodes placed on X" it names no nodes; the model's own nodes are then listed on
 * X (with a note in `warnings` if ORT's optimiser changed the node count). Node only.
 */
export async function nodePlacement(model: Uint8Array, options: NodePlacementOptions): Promise<NodePlacementReport> {
  if (!isNode()) throw new Error('nodePlacement needs Node: it reads ONNX Runtime logs from a child process');
  const { device } = options;
  if (!['webgpu', 'wasm', 'cpu'].includes(device)) throw new Error(`nodePlacement: unknown device "${String(device)}" (webgpu, wasm or cpu)`);
  const modelNodes = listModelNodes(model);
  // Loaded here, not at the top, so that browser bundles of this package never see node: imports.
  const { mkdtemp, rm, writeFile } = await nodeOnlyImport<typeof import('node:fs/promises')>('node:fs/promises');
  const { tmpdir } = await nodeOnlyImport<typeof import('node:os')>('node:os');
  const { join } = await nodeOnlyImport<typeof import('node:path')>('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'staircase-placement-'));
  try {
    const path = join(dir, 'model.onnx');
    await writeFile(path, model);
    const { stdout, stderr, code, timedOut } = await runChild(childScript(), [path, device], options.timeoutMs ?? 180_000);
    const result = resultOf(stdout);
    const runtime = device === 'cpu' ? 'onnxruntime-node' : 'onnxruntime-web';
    if (timedOut) throw new Error(`nodePlacement: the ${runtime} ${device} child process timed out`);
    if (result.error !== undefined) {
      const msg = result.error;
      if (/protobuf|parse|Load model|ModelProto|No graph/i.test(msg)) throw new Error(`not a valid ONNX model: ${firstLine(msg)}`);
      throw new Error(`nodePlacement (${runtime}, ${device}): ${firstLine(msg)}`);
    }
    if (!result.done) {
      throw new Error(`nodePlacement (${runtime}, ${device}): child process exited with code ${code} before opening the session: ${lastLine(stderr)}`);
    }
    const parsed = mergePlacement([parsePlacementLog(stderr), parsePlacementLog(stdout)]);
    const warnings = [...parsed.warnings];
    if (!parsed.reported) {
      warnings.push(`placement not reported by ${runtime} (${device}): no "Node placements" lines in its verbose log`);
      return { device, nodes: [], fallbacks: [], warnings };
    }
    const { nodes, notes } = placementNodes(parsed, modelNodes);
    warnings.push(...notes);
    const fallbacks: PlacedNode[] = device === 'webgpu' ? nodes.filter((n) => n.provider === 'CPUExecutionProvider') : [];
    return { device, nodes, fallbacks, warnings };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function listModelNodes(model: Uint8Array): { name: string; opType: string }[] {
  let decoded: { graph?: { node?: { name?: string | null; opType?: string | null }[] | null } | null };
  try {
    decoded = onnxProto.onnx.ModelProto.decode(model) as typeof decoded;
  } catch (e) {
    throw new Error(`not a valid ONNX model: ${firstLine(e)}`);
  }
  return (decoded.graph?.node ?? []).map((n) => ({ name: n.name ?? '', opType: n.opType ?? '' }));
}

function resultOf(stdout: string): { done: boolean; error?: string } {
  let done = false;
  let error: string | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(MARK)) continue;
    const [, tag, ...rest] = line.split(' ');
    const value = JSON.parse(rest.join(' ')) as unknown;
    if (tag === 'done') done = true;
    if (tag === 'error') error = String(value);
  }
  return error === undefined ? { done } : { done, error };
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1]?.trim() ?? '(no output)';
}

/**
 * The child's program. It resolves the runtime packages from this module's directory (its cwd),
 * exactly as the parent would, and carries the same WebGPU fixes as webgpu.ts (the writeBuffer patch
 * is the very function, serialised).
 */
function childScript(): string {
  return `
import { readFileSync } from 'node:fs';
const [modelPath, device] = process.argv.slice(-2);
const say = (tag, v) => process.stdout.write('\\n${MARK} ' + tag + ' ' + JSON.stringify(v) + '\\n');
try {
  if (device === 'webgpu') {
    let webgpu;
    try { webgpu = await import('webgpu'); } catch { throw new Error('WebGPU in Node needs the webgpu package (npm i webgpu)'); }
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (!(await gpu.requestAdapter())) throw new Error('WebGPU: no adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers)');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    (${patchWriteBuffer.toString()})(globalThis.GPUQueue);
    (await import('node:v8')).default.setFlagsFromString('--liftoff-only');
  }
  const spec = device === 'cpu' ? 'onnxruntime-node' : device === 'webgpu' ? 'onnxruntime-web/webgpu' : 'onnxruntime-web';
  let mod;
  try { mod = await import(spec); } catch { throw new Error(spec + ' is not installed'); }
  const ort = mod.InferenceSession ? mod : mod.default;
  ort.env.logLevel = 'verbose';
  if (device !== 'cpu') { ort.env.wasm.numThreads = 1; ort.env.wasm.proxy = false; }
  const session = await ort.InferenceSession.create(readFileSync(modelPath), {
    executionProviders: [device], logSeverityLevel: 0, logVerbosityLevel: 0,
  });
  await session.release();
  say('done', true);
} catch (e) {
  say('error', String(e && e.message || e));
}
process.exit(0);
`;
}

async function moduleDir(): Promise<string> {
  const { dirname } = await nodeOnlyImport<typeof import('node:path')>('node:path');
  // The CJS build has __filename; the ESM build (and vitest) has import.meta.url.
  if (typeof __filename === 'string') return dirname(__filename);
  const { fileURLToPath } = await nodeOnlyImport<typeof import('node:url')>('node:url');
  return dirname(fileURLToPath(import.meta.url));
}

async function runChild(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string; code: number | null; timedOut: boolean }> {
  const { spawn } = await nodeOnlyImport<typeof import('node:child_process')>('node:child_process');
  const { tmpdir } = await nodeOnlyImport<typeof import('node:os')>('node:os');
  const cwd = await moduleDir();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
      cwd,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, timedOut });
    });
  });
}
