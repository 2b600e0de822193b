import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Packing, a real `npm install` and a few short training runs: minutes, not seconds.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // One file, run in its own process; nothing here benefits from parallel workers.
    fileParallelism: false,
  },
});
