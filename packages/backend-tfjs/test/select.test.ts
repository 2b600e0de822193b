import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES, BackendUnavailableError, formatBackendReport, selectBackend } from '../src/select.js';

/** Why tfjs-node is skipped here: not installed, or installed without the binary it downloads at install time. */
const NODE_MISSING = /^@tensorflow\/tfjs-node (is not installed|is installed but its native binary is missing)/;

describe('selectBackend', () => {
  it('auto picks an available backend and reports why the others were skipped', async () => {
    const sel = await selectBackend({ backend: 'auto', env: {} });
    expect(BACKEND_NAMES).toContain(sel.name);
    expect(sel.tf.getBackend()).toBe(sel.name === 'tfjs-node' || sel.name === 'tfjs-node-gpu' ? 'tensorflow' : sel.name);
    expect(sel.reason).toMatch(/^auto: /);
    const order = BACKEND_NAMES.indexOf(sel.name);
    expect(sel.skipped.map((s) => s.name)).toEqual(BACKEND_NAMES.slice(0, order));
    const report = formatBackendReport(sel);
    expect(report.split('\n')[0]).toBe(`backend: ${sel.name} (${sel.reason})`);
    for (const s of sel.skipped) expect(report).toContain(`skipped ${s.name}: ${s.why}`);
    // tfjs-node cannot work on these machines (absent, or present without its native binary): skipped with the reason.
    expect(sel.skipped.find((s) => s.name === 'tfjs-node')?.why).toMatch(NODE_MISSING);
  });

  it('an explicitly requested backend that is unavailable fails with one line saying why and how to fix it', async () => {
    const err = await selectBackend({ backend: 'tfjs-node' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /^backend "tfjs-node" is not available: @tensorflow\/tfjs-node (is not installed; install it with `npm i @tensorflow\/tfjs-node`|is installed but its native binary is missing .*; run `npm rebuild @tensorflow\/tfjs-node`)/,
    );
    expect(message).not.toContain('\n');
  });

  it('STAIRCASE_BACKEND decides when the option is absent; the option wins over it', async () => {
    const sel = await selectBackend({ env: { STAIRCASE_BACKEND: 'cpu' } });
    expect(sel.name).toBe('cpu');
    expect(sel.reason).toBe('STAIRCASE_BACKEND=cpu');
    expect(sel.tf.getBackend()).toBe('cpu');
    const wasm = await selectBackend({ backend: 'wasm', env: { STAIRCASE_BACKEND: 'cpu' } });
    expect(wasm.name).toBe('wasm');
    expect(wasm.tf.getBackend()).toBe('wasm');
    await expect(selectBackend({ env: { STAIRCASE_BACKEND: 'tpu' } })).rejects.toThrow(
      'STAIRCASE_BACKEND="tpu" is not a backend; use one of auto, tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu',
    );
    await expect(selectBackend({ env: { STAIRCASE_BACKEND: 'tfjs-node-gpu' } })).rejects.toThrow(
      /^backend "tfjs-node-gpu" \(from STAIRCASE_BACKEND\) is not available: @tensorflow\/tfjs-node-gpu (is not installed|is installed but its native binary is missing)/,
    );
  });

  it('validates its options', async () => {
    await expect(selectBackend({ backend: 'gpu' as never })).rejects.toThrow(/selectBackend options\.backend: got "gpu"/);
    await expect(selectBackend({ backnd: 'cpu' } as never)).rejects.toThrow('selectBackend options: unknown key "backnd"');
  });
});
