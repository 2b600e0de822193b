/**
 * Exports of format version 1 (one-token step graphs whose state is a shifted window, written
 * before ring buffers) still load, pass their self-check and generate what they generated then.
 * The fixture was written by tree a8c875c (`fixtures-v1/staircase.greedy.json` says how).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '@staircase/staircase';
import { createModel, initParams } from '@staircase/core';
import { describe, expect, it } from 'vitest';
import { exportModel, FORMAT_VERSION, generate, OnnxModel } from '../src/index.js';
import { tinyBase, tinyKinds } from './helpers.js';

const file = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures-v1/${name}`, import.meta.url)));

describe('a version-1 export', () => {
  const expected = JSON.parse(file('staircase.greedy.json').toString('utf8')) as { prompt: number[]; tokens: number[]; version: number };

  it('loads, passes its self-check and gives the greedy tokens it gave when written', async () => {
    expect(expected.version).toBe(1);
    expect(FORMAT_VERSION).toBeGreaterThan(1);
    const onnx = await OnnxModel.load({ step: file('staircase.step.onnx'), segment: file('staircase.segment.onnx') }, { device: 'cpu' });
    try {
      expect(onnx.metadata.version).toBe(1);
      expect(onnx.metadata.state.some((s) => s.update === 'ring')).toBe(false);
      const out: number[] = [];
      for await (const t of generate(onnx, expected.prompt, expected.tokens.length, { temperature: 0, topK: 0, topP: 1, seed: 0 })) out.push(t);
      expect(out).toEqual(expected.tokens);
    } finally {
      await onnx.release();
    }
  });

  it("today's export of the same model (ring-buffer step) gives the same tokens", async () => {
    const model = createModel({ ...tinyBase, ...tinyKinds.staircase });
    const onnx = await OnnxModel.load(exportModel(model, initParams(model.paramSpecs(), 7)), { device: 'cpu' });
    try {
      expect(onnx.metadata.version).toBe(FORMAT_VERSION);
      const out: number[] = [];
      for await (const t of generate(onnx, expected.prompt, expected.tokens.length, { temperature: 0, topK: 0, topP: 1, seed: 0 })) out.push(t);
      expect(out).toEqual(expected.tokens);
    } finally {
      await onnx.release();
    }
  });
});
