import { describe, expect, it } from 'vitest';
import { BenchmarkError } from '@staircase/benchmark';
import { benchOptionsFrom, parsePositions } from '../src/bench-cli.js';
import { isUserError } from '../src/errors.js';
import { cli } from './helpers.js';

// The command only: the measurement is @staircase/benchmark's, tested there.
describe('staircase bench (the command)', () => {
  it('parses --positions and refuses a bad one in one line', () => {
    expect(parsePositions('256, 4096')).toEqual([256, 4096]);
    expect(parsePositions('')).toEqual([]);
    expect(parsePositions(undefined)).toBeUndefined();
    expect(() => parsePositions('1.5')).toThrow(/positions/);
    expect(() => benchOptionsFrom({ size: 'huge' })).toThrow('--size huge: expected tiny or reference');
    expect(benchOptionsFrom({ size: 'tiny', kinds: 'staircase, ladder', backends: '', onnxDevices: 'cpu' })).toMatchObject({
      size: 'tiny',
      kinds: ['staircase', 'ladder'],
      backends: [],
      onnxDevices: ['cpu'],
    });
  });

  it("prints the harness's setting errors as one line (no stack trace)", async () => {
    expect(isUserError(new BenchmarkError('--kinds: unknown model "lstm"'))).toBe(true);
    const r = await cli(['bench', '--kinds', 'lstm', '--backends', '', '--onnx-devices', '']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^staircase: --kinds: unknown model "lstm"; use transformer-xl, staircase, /m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
