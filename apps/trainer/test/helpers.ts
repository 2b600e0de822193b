import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (nx builds it before tests). */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `staircase-${prefix}-`));

/** Runs the CLI (in `cwd` when given); resolves with exit code and output, never rejects. */
export function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20, ...(cwd ? { cwd } : {}) }, (error, stdout, stderr) => {
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

/** Whether {@link onTerminal} can run here (util-linux `script` gives the CLI a pseudo-terminal). */
export const hasScript = (() => {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs the CLI on a pseudo-terminal (stdout and stderr both a TTY, merged); resolves with the code and what the terminal got. */
export function onTerminal(args: string[]): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { maxBuffer: 64 << 20 }, (error, stdout) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout });
    });
  });
}
