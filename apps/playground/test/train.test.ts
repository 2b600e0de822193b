/**
 * In-tab training in headless Chromium: the worker trains a Staircase and a Transformer-XL on a
 * tiny random walk (TF.js WASM), the validation loss falls for both, pause holds and resume
 * continues; the Staircase exported from the tab opens in the page, and the downloaded files score
 * the same on Node (`staircase eval --onnx`) as in the page and as TF.js in the worker.
 * A screenshot goes to .tmp/. Skips, saying why, where Chromium is absent.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EvalMetrics } from '@staircase/data';
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainProgress } from '../src/train-panel.js';
import { buildPage } from './build.js';
import { launch, openPage, servePage, skipReason } from './browser.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(dirname(createRequire(import.meta.url).resolve('@staircase/trainer/package.json')), 'dist', 'cli.js');
const STEPS = 400;

let server: PreviewServer | undefined;
let url = '';
let browser: Browser | undefined;
let dir = '';

beforeAll(async () => {
  if (skipReason) return;
  mkdirSync(join(root, '.tmp'), { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'playground-train-'));
  await buildPage(root);
  ({ server, url } = await servePage(root));
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const progress = (page: Page) =>
  page.evaluate(() => {
    const p = (globalThis as unknown as { playground: { train: { progress: TrainProgress } } }).playground.train.progress;
    // Without the export's bytes: only what the assertions read.
    return { ...p, exported: p.exported && { ...p.exported, files: undefined } };
  });
const stepsDone = async (page: Page) => (await progress(page)).losses.staircase.length;

describe.skipIf(skipReason)(`training in the tab${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('lowers the loss, pauses and resumes, and exports a model that scores the same in the page and on Node', async () => {
    const { page, problems } = await openPage(browser!, url);
    try {
      await page.fill('#train-steps', String(STEPS));
      await page.selectOption('#train-backend', 'wasm');
      await page.click('#train-start');
      await expect.poll(() => stepsDone(page), { timeout: 120_000, interval: 20 }).toBeGreaterThan(5);

      await page.click('#train-pause');
      await expect.poll(async () => (await progress(page)).state, { timeout: 30_000 }).toBe('paused');
      const held = await stepsDone(page);
      await page.waitForTimeout(1500);
      expect(await stepsDone(page)).toBe(held);
      await page.click('#train-resume');
      await expect.poll(async () => (await progress(page)).state, { timeout: 240_000, interval: 500 }).toBe('done');

      const done = await progress(page);
      expect(done.backend).toBe('wasm');
      for (const kind of ['staircase', 'transformer-xl'] as const) {
        expect(done.losses[kind]).toHaveLength(STEPS);
        const evals = done.evals[kind];
        expect(evals[0]!.step).toBe(0);
        expect(evals.at(-1)!.step).toBe(STEPS);
        // Lower at the end than untrained: validation loss, and the training loss of the last 50
        // steps against the first 20.
        expect(evals.at(-1)!.metrics.loss).toBeLessThan(0.95 * evals[0]!.metrics.loss);
        const mean = (xs: { loss: number }[]) => xs.reduce((a, x) => a + x.loss, 0) / xs.length;
        expect(mean(done.losses[kind].slice(-50))).toBeLessThan(mean(done.losses[kind].slice(0, 20)));
      }

      const downloads: import('playwright-core').Download[] = [];
      page.on('download', (d) => downloads.push(d));
      await page.click('#train-export');
      await expect.poll(async () => (await progress(page)).exported?.step, { timeout: 60_000 }).toBe(STEPS);
      await expect.poll(() => page.locator('#model-status').textContent(), { timeout: 60_000 }).toContain('self-check passed');
      // The links the page offers, clicked as a user would.
      for (const link of await page.locator('#train-export-links a').all()) await link.click();
      await expect.poll(() => downloads.length, { timeout: 30_000 }).toBe(2);
      for (const d of downloads) await d.saveAs(join(dir, d.suggestedFilename()));
      const file = join(dir, `random-walk-staircase-step-${STEPS}.onnx`);

      const inPage = await page.evaluate(() =>
        (globalThis as unknown as { playground: { scoreValid(): Promise<EvalMetrics> } }).playground.scoreValid(),
      );
      await page.screenshot({ path: join(root, '.tmp', 'train-done.png'), fullPage: true });
      const onNode = JSON.parse(execFileSync(process.execPath, [cli, 'eval', '--onnx', file, '--device', 'cpu', '--split', 'valid', '--json'], { encoding: 'utf8' })) as EvalMetrics;
      const inWorker = (await progress(page)).exported!.valid;

      expect(onNode.count).toBe(inPage.count);
      expect(onNode.skipped).toBe(inPage.skipped);
      expect(Math.abs(onNode.loss - inPage.loss)).toBeLessThan(1e-4);
      expect(onNode.errorRate).toBe(inPage.errorRate);
      // TF.js in the worker against ONNX Runtime: same positions, float32 sums in another order.
      expect(inWorker.count).toBe(inPage.count);
      expect(Math.abs(inWorker.loss - inPage.loss)).toBeLessThan(1e-4);
      expect(Math.abs(inWorker.errorRate! - inPage.errorRate!)).toBeLessThanOrEqual(1 / inPage.count);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
