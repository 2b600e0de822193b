import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'vite';

let built: Promise<void> | undefined;

/** Makes the demo model and builds the page into dist/ once per test process, as `pnpm build` does. */
export function buildPage(root: string): Promise<void> {
  built ??= (async () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'demo-model.mjs')], { stdio: 'inherit' });
    await build({ root, logLevel: 'error' });
  })();
  return built;
}
