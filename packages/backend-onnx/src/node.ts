/**
 * Node-only helpers: writing an export to disk and loading it back. Import from
 * `@staircase/backend-onnx/node`; browsers load bytes with {@link OnnxModel.load}.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { ExportedModel } from './export/export-model.js';
import { OnnxModelError } from './format.js';
import { type LoadOptions, OnnxModel, type OnnxModelFiles } from './onnx-model.js';

/** The segment graph's path next to the step graph's: `model.onnx` → `model.segment.onnx`. */
export function segmentPath(stepPath: string): string {
  return stepPath.endsWith('.onnx') ? `${stepPath.slice(0, -'.onnx'.length)}.segment.onnx` : `${stepPath}.segment.onnx`;
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes the step graph to `path` and the segment graph next to it ({@link segmentPath}), each
 * atomically, so an interrupted export never leaves a half-written file in place of a good one.
 */
export async function writeExport(exported: ExportedModel, path: string): Promise<{ step: string; segment: string }> {
  const segment = segmentPath(path);
  await writeAtomic(segment, exported.segment);
  await writeAtomic(path, exported.step);
  return { step: path, segment };
}

/** Reads an export's two files (see {@link writeExport}). */
export async function readExport(path: string): Promise<OnnxModelFiles> {
  const read = async (p: string, what: string) => {
    try {
      return new Uint8Array(await readFile(p));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new OnnxModelError(code === 'ENOENT' ? `${p}: no such file (${what}) — export the model with: staircase export --run DIR --out ${path}` : `${p}: cannot read it (${code})`);
    }
  };
  return { step: await read(path, 'the step graph'), segment: await read(segmentPath(path), 'the segment graph written next to it') };
}

/** Loads an export from disk into ONNX Runtime (see {@link OnnxModel.load}). */
export async function loadOnnxModel(path: string, options: Omit<LoadOptions, 'names'> = {}): Promise<OnnxModel> {
  return OnnxModel.load(await readExport(path), { ...options, names: { step: path, segment: segmentPath(path) } });
}
