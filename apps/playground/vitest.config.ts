import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  // The browser tests share one built page and one Chromium: run the files one after another.
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 600_000, fileParallelism: false },
});
