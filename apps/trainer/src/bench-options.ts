/**
 * The options every bench command line shares (`staircase bench`, and `pnpm bench` of tools/bench,
 * which adds the PyTorch peer's). Kept apart from the bench itself (`@staircase/benchmark`) so that
 * the CLI can declare them without loading TensorFlow.js.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { BenchSize } from '@staircase/benchmark';

/** Options of `staircase bench` as commander parses them (also the shared part of `pnpm bench`'s). */
export interface BenchCommandOptions {
  size?: string;
  kinds?: string;
  backends?: string;
  steps?: number;
  warmup?: number;
  workers?: number;
  positions?: string;
  streamTokens?: number;
  onnxDevices?: string;
  out?: string;
  markdown?: string;
  json?: boolean;
}

/** A commander argument parser for finite numbers. */
export const number = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
};

/** A commander argument parser for whole numbers ≥ 0. */
export const wholeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
};

/**
 * Adds the measurement and output options of `staircase bench` to a command, so that every bench
 * command line (this CLI's, and `pnpm bench` of tools/bench, which adds the PyTorch peer's) takes
 * the same ones. `defaultSize` is the `--size` default.
 */
export function addBenchOptions(command: Command, defaultSize: BenchSize = 'tiny'): Command {
  return command
    .option('--size <name>', 'tiny | reference (d 256, 4 heads, FFN 1024, 2 layers, batch 8 x 128)', defaultSize)
    .option('--kinds <list>', 'comma list: transformer-xl, staircase (n 2 and 4), staircase-n2, staircase-n4, cached-staircase, ladder, global-staircase (default: all but global-staircase)')
    .option('--backends <list>', 'comma list of tfjs backends (default: what auto picks, wasm, and cpu at tiny; empty string: none)')
    .option('--steps <n>', 'measured steps (default: 3 at tiny, 5 at reference)', wholeNumber)
    .option('--warmup <n>', 'untimed warm-up steps (default: 1 at tiny, 3 at reference)', wholeNumber)
    .option('--workers <n>', 'also measure data-parallel training with N replicas on wasm/cpu (default: off)', wholeNumber)
    .option('--positions <list>', 'streaming positions (default: 32,128 at tiny, 256,4096,16384 at reference; empty string: none)')
    .option('--stream-tokens <n>', 'timed single-token calls per position (default: 8 at tiny, 32 at reference)', wholeNumber)
    .option('--onnx-devices <list>', 'where ONNX Runtime is measured: comma list of cpu, wasm, webgpu, auto (default cpu,auto: WebGPU too on a GPU; empty string: none)')
    .option('--out <file>', 'write the JSON report to FILE')
    .option('--markdown <file>', 'write the markdown table to FILE')
    .option('--json', 'print the JSON report instead of the table');
}

