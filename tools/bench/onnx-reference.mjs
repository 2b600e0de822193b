// ONNX Runtime evaluation and streaming latency of the reference models (docs/BENCHMARKS.md):
// pnpm build && node tools/bench/onnx-reference.mjs
import { measureOnnxRuntime } from '@staircase/trainer';
const core = { vocabSize: 256, dModel: 256, heads: 4, layers: 2, dFF: 1024, dropout: 0, position: { type: 'relative', maxDistance: 256 }, seed: 0 };
const models = [
  ['transformer-xl', { kind: 'transformer-xl', memory: 128 }],
  ['staircase-n2', { kind: 'staircase', chunk: 64, passes: 2 }],
  ['staircase-n4', { kind: 'staircase', chunk: 32, passes: 4 }],
  ['cached-staircase', { kind: 'cached-staircase', chunk: 64, passes: 2, cacheChunks: 2 }],
  ['ladder-r2', { kind: 'ladder', memory: 128, repeats: 2 }],
].map(([id, m]) => ({ id, config: { ...core, ...m } }));
const r = await measureOnnxRuntime({ size: 'reference', models, batch: 8, length: 128, steps: 10, warmup: 2, positions: [256, 4096, 16384], streamTokens: 32, historySegment: 512 });
console.log(JSON.stringify(r, null, 1));
