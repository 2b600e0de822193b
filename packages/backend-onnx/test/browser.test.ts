/**
 * The real browser: a page bundled with esbuild (platform browser) opens an export in headless
 * Debian Chromium and its segment logits must equal Node's, on WASM and on WebGPU (SwiftShader).
 * The model's segment has 8 staircase chunks: its output Concat took 8 inputs, one storage buffer
 * over WebGPU's limit, and onnxruntime-web's JSEP WebGPU returned zeros with only a console
 * message. Any console error fails the test. Skips, saying why, where Chromium is absent.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel, exportModel } from '../src/index.js';
import { writeExport } from '../src/node.js';
import { serve } from './browser/serve.js';
import { maxDiff, tinyModel, tokenStream } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
const here = dirname(fileURLToPath(import.meta.url));
// The package's require entry is dist/ort.min.js (its exports map hides package.json).
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
// chunk 3, 24 tokens: a segment of 8 chunks (the regression case).
const SEGMENT = 24;

let dir = '';
let site: Awaited<ReturnType<typeof serve>> | undefined;
let browser: import('playwright-core').Browser | undefined;
let nodeLogits: Float32Array;
const tokens = Array.from(tokenStream(SEGMENT));

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'staircase-browser-'));
  const { model, params } = tinyModel('staircase');
  const exported = exportModel(model, params, { segmentTokens: SEGMENT });
  await writeExport(exported, join(dir, 'model.onnx'));
  const onNode = await OnnxModel.load(exported, { device: 'cpu' });
  nodeLogits = await onNode.stream(1, 'segment').append(tokens, SEGMENT);
  await onNode.release();
  await build({
    entryPoints: [join(here, 'browser/page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['source'],
    outfile: join(dir, 'page.js'),
    logLevel: 'error',
  });
  await writeFile(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="page.js"></script>');
  site = await serve(dir, ortDist);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
    ],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  site?.server.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)(`headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  for (const device of ['wasm', 'webgpu'] as const) {
    it(`segment logits on ${device} equal Node's within 1e-4, no console errors`, async () => {
      const page = await browser!.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || /exceeds the maximum|storage buffers/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      try {
        await page.goto(site!.url);
        await page.waitForFunction(() => 'runCase' in globalThis);
        expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
        const result = await page.evaluate(
          ([d, t]) => (globalThis as unknown as { runCase(d: string, t: number[]): Promise<Record<string, unknown>> }).runCase(d, t),
          [device, tokens] as const,
        );
        // For a person to look at (.tmp/ is git-ignored).
        await page.screenshot({ path: join(here, '..', '.tmp', `browser-${device}.png`) });
        expect(result.error).toBeUndefined();
        expect(result.device).toBe(device);
        expect(maxDiff(result.logits as number[], nodeLogits)).toBeLessThan(1e-4);
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
    }, 300_000);
  }
});
