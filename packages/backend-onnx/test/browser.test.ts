/**
 * The real browser: a page bundled with esbuild (platform browser) opens exports in headless
 * Debian Chromium and their logits must equal Node's (onnxruntime-node, CPU), on WASM and on
 * WebGPU (SwiftShader), for every model kind of the parity suite.
 *
 * Every kind is exported with the same segment of {@link SEGMENT} tokens: 8 to 12 chunks for the
 * chunked kinds, which concatenate one output per chunk (the staircase family) and so ask for
 * Concats wider than MAX_CONCAT_INPUTS, which the exporter emits as a tree (concatTree). The
 * others (Transformer-XL, Ladder) only ever concatenate memory and input, two at a time, whatever
 * the segment length. The stream covers two whole segments and a partial one (state carried
 * across runs, the zero-padded last run). Per kind the step graph's logits of a
 * prompt and of a short greedy continuation (the same tokens as Node's) are checked too.
 *
 * The regression case is the staircase's: a segment of 8 chunks, whose output Concat took 8
 * inputs, one storage buffer over WebGPU's limit, and onnxruntime-web's JSEP WebGPU returned zeros
 * with only a console message. Any console error fails the test.
 *
 * Time: one browser; per device one page, which runs every kind in one evaluate call. On
 * SwiftShader most of it is each graph's first run (opening a model self-checks both graphs),
 * some seconds per kind. A screenshot of each page goes to .tmp/. Skips, saying why, where
 * Chromium is absent.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONCAT_INPUTS, OnnxModel, exportModel } from '../src/index.js';
import { writeExport } from '../src/node.js';
import type { PageCase, PageResult } from './browser/page.js';
import { serve } from './browser/serve.js';
import { stepAndGreedy } from './browser/steps.js';
import { KINDS, maxDiff, tinyKinds, tinyModel, tokenStream } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
const here = dirname(fileURLToPath(import.meta.url));
// The package's require entry is dist/ort.min.js (its exports map hides package.json).
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
/**
 * Tokens per segment for every kind: a multiple of every chunk size (2 and 3), 8 staircase chunks
 * (the regression case) and at least 8 chunks for every chunked kind (a Concat tree).
 */
const SEGMENT = 24;
/** The segment stream: two whole segments and half of one. */
const STREAMED = 2.5 * SEGMENT;
/** The step graph's check: the prompt one token per run, then greedy tokens fed back. */
const PROMPT = [3, 1, 4, 1, 5];
const GREEDY = 4;

interface Case extends PageCase {
  readonly kind: string;
  /** The widest Concat the model asked for (a tree of same-axis Concats counted as one). */
  readonly concat: number;
  readonly node: { segment: Float32Array; step: number[]; greedy: number[] };
}

/** The widest Concat of a graph before the exporter split it: same-axis Concats of Concats merged. */
function askedConcatWidth(bytes: Uint8Array): number {
  const nodes = onnxProto.onnx.ModelProto.decode(bytes).graph!.node ?? [];
  const concats = new Map(nodes.filter((n) => n.opType === 'Concat').flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const axis = (n: onnxProto.onnx.INodeProto) => Number(n.attribute?.find((a) => a.name === 'axis')?.i ?? 0);
  const width = (n: onnxProto.onnx.INodeProto): number =>
    (n.input ?? []).reduce((sum, i) => {
      const inner = concats.get(i);
      return sum + (inner && axis(inner) === axis(n) ? width(inner) : 1);
    }, 0);
  return Math.max(0, ...[...concats.values()].map(width));
}

let dir = '';
let site: Awaited<ReturnType<typeof serve>> | undefined;
let browser: import('playwright-core').Browser | undefined;
const cases: Case[] = [];

/** The chunks of a kind's segment. */
const chunksOf = (kind: string) => SEGMENT / ((tinyKinds[kind] as { chunk?: number }).chunk ?? 1);

async function addCase(kind: string): Promise<void> {
  const name = kind === 'staircase' ? 'staircase (8 chunks: regression)' : kind;
  const { model, params } = tinyModel(kind);
  const exported = exportModel(model, params, { segmentTokens: SEGMENT, maxPositions: 4 * SEGMENT });
  const file = `case${cases.length}`;
  await writeExport(exported, join(dir, `${file}.onnx`));
  const tokens = Array.from(tokenStream(STREAMED));
  const onNode = await OnnxModel.load(exported, { device: 'cpu' });
  try {
    const segment = await onNode.stream(1, 'segment').append(tokens, tokens.length);
    const { logits: step, greedy } = await stepAndGreedy(onNode, PROMPT, GREEDY);
    const concat = askedConcatWidth(exported.segment);
    cases.push({ name, kind, file, tokens, prompt: PROMPT, greedy: GREEDY, concat, node: { segment, step, greedy } });
  } finally {
    await onNode.release();
  }
}

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'staircase-browser-'));
  for (const kind of KINDS) await addCase(kind);
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

type Page = { runCases(d: string, c: PageCase[]): Promise<PageResult[]>; showDiffs(d: unknown[]): void };

describe.skipIf(skip)(`headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('every kind of the parity suite is checked, the staircase family with a Concat tree', () => {
    expect(cases.map((c) => c.kind)).toEqual(KINDS);
    // chunk 3, 24 tokens: the segment of the bug.
    expect(chunksOf('staircase')).toBe(8);
    for (const c of cases) {
      expect(Number.isInteger(chunksOf(c.kind)), c.name).toBe(true);
      // Chunked kinds concatenate one output per chunk (+1 for the global staircase's summary).
      if ('chunk' in tinyKinds[c.kind]!) expect(c.concat, c.name).toBeGreaterThan(MAX_CONCAT_INPUTS);
    }
  });

  for (const device of ['wasm', 'webgpu'] as const) {
    it(`logits on ${device} equal Node's within 1e-4 for every kind, no console errors`, async () => {
      const page = await browser!.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || /exceeds the maximum|storage buffers/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      try {
        await page.goto(site!.url);
        await page.waitForFunction(() => 'runCases' in globalThis);
        expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
        const onPage = cases.map(({ name, file, tokens, prompt, greedy }) => ({ name, file, tokens, prompt, greedy }));
        const results = await page.evaluate(([d, c]) => (globalThis as unknown as Page).runCases(d, c), [device, onPage] as const);
        expect(results.map((r) => r.name)).toEqual(cases.map((c) => c.name));
        const diffs = cases.map((c, i) => {
          const r = results[i]!;
          const segment = r.segment ? maxDiff(r.segment, c.node.segment) : Number.NaN;
          const step = r.step ? maxDiff(r.step, c.node.step) : Number.NaN;
          const greedy = JSON.stringify(r.greedy) === JSON.stringify(c.node.greedy);
          const ok = !r.error && r.device === device && segment < 1e-4 && step < 1e-4 && greedy;
          return { name: c.name, chunks: chunksOf(c.kind), tokens: c.tokens.length, concat: c.concat, device: r.device, ms: r.ms, times: r.times, segment, step, greedy, ok, error: r.error };
        });
        console.log(
          `${device}: max |browser − Node| per kind\n` +
            diffs
              .map(
                (d) =>
                  `  ${d.name.padEnd(32)} ${String(d.chunks).padStart(2)} chunks/segment, ${d.tokens} tokens, widest Concat asked ${String(d.concat).padStart(2)}: ` +
                  `segment ${d.segment.toExponential(2)}, step ${d.step.toExponential(2)}, greedy ${d.greedy ? 'same' : 'DIFFERS'}` +
                  (d.times ? `; ${d.ms} ms (open+self-check ${d.times.load}, segment ${d.times.segment}, step ${d.times.step})` : '') +
                  (d.error ? `, error: ${d.error}` : ''),
              )
              .join('\n'),
        );
        await page.evaluate((d) => (globalThis as unknown as Page).showDiffs(d), diffs);
        for (const d of diffs) {
          expect.soft(d.error, d.name).toBeUndefined();
          expect.soft(d.device, d.name).toBe(device);
          expect.soft(d.segment, `${d.name}: segment logits`).toBeLessThan(1e-4);
          expect.soft(d.step, `${d.name}: step logits`).toBeLessThan(1e-4);
          expect.soft(d.greedy, `${d.name}: greedy tokens`).toBe(true);
        }
        expect(problems).toEqual([]);
      } finally {
        // For a person to look at (.tmp/ is git-ignored), pass or fail.
        await page.screenshot({ path: join(here, '..', '.tmp', `browser-${device}.png`), fullPage: true }).catch(() => {});
        await page.close();
      }
    }, 600_000);
  }
});
