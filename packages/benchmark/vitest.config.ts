import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  // The harness at tiny size on real backends: minutes on 2 busy cores.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 600_000 },
});
