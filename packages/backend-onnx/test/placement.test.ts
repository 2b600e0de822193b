/**
 * Every node of every exported graph runs on the WebGPU execution provider: no CPU fallback and
 * no ORT warning about unsupported or unassigned nodes.
 */
import { describe, expect, it } from 'vitest';
import { exportModel, nodePlacement } from '../src/index.js';
import { KINDS, skipReason, tinyModel } from './helpers.js';

const skip = skipReason('webgpu');

describe.each(KINDS)('%s', (kind) => {
  it.skipIf(skip)(`step and segment graphs place every node on WebGPU${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const { model, params } = tinyModel(kind);
    const exported = exportModel(model, params, { maxPositions: 64 });
    for (const bytes of [exported.step, exported.segment]) {
      const report = await nodePlacement(bytes, { device: 'webgpu' });
      expect(report.nodes.length).toBeGreaterThan(0);
      expect(report.fallbacks.map((n) => `${n.opType} ${n.name}`)).toEqual([]);
      expect(new Set(report.nodes.map((n) => n.provider))).toEqual(new Set(['WebGpuExecutionProvider']));
      expect(report.warnings.filter((w) => /\[W:|not assigned|unsupported|fallback/i.test(w))).toEqual([]);
    }
  });
});
