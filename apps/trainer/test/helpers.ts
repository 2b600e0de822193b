import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (nx builds it before tests). */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `staircase-${prefix}-`));

/** Runs the CLI; resolves with exit code and output, never rejects. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Options that make any data spec quick to train on. */
export const quickData = [
  '--set', 'data.brownDocuments=20',
  '--set', 'data.episodes={"train":20,"valid":4,"test":4}',
  '--set', 'train.evalBatches=2',
  '--set', 'sample.tokens=20',
  '--backend', 'cpu',
];
