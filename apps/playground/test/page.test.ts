/**
 * The built page in headless Debian Chromium: no console errors; the demo model gives on WASM the
 * greedy tokens `staircase sample --onnx --temperature 0` gives on Node and the score Node's
 * ONNX Runtime gives (1e-4); on WebGPU (SwiftShader) its segment logits equal Node's (1e-4);
 * a bad file gets one line on the page. A screenshot after each test goes to .tmp/.
 * Skips, saying why, where Chromium is absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxModel, score } from '@staircase/backend-onnx';
import { readExport } from '@staircase/backend-onnx/node';
import { tokenizerFromJSON, type TokenizerJSON } from '@staircase/data';
import type { Browser } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage } from './build.js';
import { launch, openPage, servePage, skipReason } from './browser.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shots = join(root, '.tmp');
const demo = join(root, 'public', 'demo', 'model.onnx');
const cli = join(dirname(createRequire(import.meta.url).resolve('@staircase/trainer/package.json')), 'dist', 'cli.js');
const PROMPT = 'The ';
const TEXT = 'The jury further said in term-end presentments that the City Executive Committee deserves praise.';

let server: PreviewServer | undefined;
let url = '';
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason) return;
  mkdirSync(shots, { recursive: true });
  await buildPage(root);
  ({ server, url } = await servePage(root));
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Playground = {
  openDemo(device: string): Promise<{ device: string; why: string }>;
  generate(o: object): Promise<{ ids: number[]; text: string }>;
  score(text: string): Promise<{ bitsPerToken: number; count: number }>;
  segmentLogits(tokens: number[]): Promise<number[]>;
};

describe.skipIf(skipReason)(`the playground in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('loads with no console errors and draws the schedule', async () => {
    const { page, problems } = await openPage(browser!, url);
    try {
      expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
      // Default F = 4, n = 3, 6 chunks: rows 0 … 7, 18 cells (each chunk 3 times).
      expect(await page.locator('#sched-svg rect.cell').count()).toBe(18);
      await page.fill('#sched-passes', '2');
      expect(await page.locator('#sched-svg rect.cell').count()).toBe(12);
      await page.screenshot({ path: join(shots, 'page-loaded.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('WASM: the demo model gives the greedy tokens of staircase sample --onnx and the score of Node', async () => {
    expect(existsSync(demo)).toBe(true);
    const node = JSON.parse(
      execFileSync(process.execPath, [cli, 'sample', '--onnx', demo, '--device', 'cpu', '--temperature', '0', '--tokens', '60', '--prompt', PROMPT, '--json'], { encoding: 'utf8' }),
    ) as { ids: number[]; text: string };
    const onNode = await OnnxModel.load(await readExport(demo), { device: 'cpu' });
    const tokenizer = tokenizerFromJSON(onNode.metadata.tokenizer as TokenizerJSON);
    const nodeScore = await score(onNode, tokenizer.encode(TEXT));
    await onNode.release();

    const { page, problems } = await openPage(browser!, url);
    try {
      const result = await page.evaluate(
        async ([prompt, text]) => {
          // Runs in the page: the page's own hooks (the buttons call the same functions).
          const pg = (globalThis as unknown as { playground: Playground }).playground;
          const opened = await pg.openDemo('wasm');
          const generated = await pg.generate({ prompt, tokens: 60, temperature: 0, topK: 0, topP: 1, seed: 0 });
          return { opened, generated, scored: await pg.score(text) };
        },
        [PROMPT, TEXT] as const,
      );
      await page.screenshot({ path: join(shots, 'page-wasm.png'), fullPage: true });
      expect(result.opened.device).toBe('wasm');
      expect(result.generated.ids).toEqual(node.ids);
      expect(await page.locator('#output').textContent()).toBe(PROMPT + node.text);
      expect(Math.abs(result.scored.bitsPerToken - nodeScore.bitsPerToken)).toBeLessThan(1e-4);
      expect(result.scored.count).toBe(nodeScore.count);
      expect(await page.locator('#model-status').textContent()).toContain('device: wasm');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('WebGPU (SwiftShader): segment logits within 1e-4 of Node, greedy tokens equal', async () => {
    const onNode = await OnnxModel.load(await readExport(demo), { device: 'cpu' });
    const tokens = Array.from(tokenizerFromJSON(onNode.metadata.tokenizer as TokenizerJSON).encode(TEXT));
    const nodeLogits = await onNode.stream(1, 'segment').append(tokens, tokens.length);
    await onNode.release();
    const { page, problems } = await openPage(browser!, url);
    try {
      await page.selectOption('#device', 'webgpu');
      const result = await page.evaluate(async (t) => {
        const pg = (globalThis as unknown as { playground: Playground }).playground;
        const opened = await pg.openDemo('webgpu');
        return { opened, logits: await pg.segmentLogits(t) };
      }, tokens);
      await page.screenshot({ path: join(shots, 'page-webgpu.png'), fullPage: true });
      expect(result.opened.device).toBe('webgpu');
      let diff = 0;
      for (let i = 0; i < nodeLogits.length; i++) diff = Math.max(diff, Math.abs(result.logits[i]! - nodeLogits[i]!));
      expect(result.logits.length).toBe(nodeLogits.length);
      expect(diff).toBeLessThan(1e-4);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a wrong file gets one line on the page', async () => {
    const { page, problems } = await openPage(browser!, url);
    try {
      await page.setInputFiles('#files', [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') }]);
      await expect.poll(() => page.locator('#model-error').textContent()).toContain('notes.txt is not an ONNX export');
      await page.setInputFiles('#files', [{ name: 'model.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('x') }]);
      await expect.poll(() => page.locator('#model-error').textContent()).toContain('an export is two files');
      await page.setInputFiles('#files', [
        { name: 'model.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model') },
        { name: 'model.segment.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model') },
      ]);
      await expect.poll(() => page.locator('#model-error').textContent()).toMatch(/model\.onnx/);
      const message = (await page.locator('#model-error').textContent()) ?? '';
      expect(message.split('\n')).toHaveLength(1);
      await page.screenshot({ path: join(shots, 'page-bad-file.png'), fullPage: true });
      // Refusing a file is not a console error.
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
