import { defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `@audit/source`
  // export condition); plain `node` resolves them to the built dist/.
  ssr: { resolve: { conditions: ['@audit/source', ...defaultServerConditions] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
    coverage: {
      provider: 'v8',
      // The web app is covered by the browser tests, which v8 cannot see into.
      include: ['packages/*/src/**/*.ts', 'apps/api/src/**/*.ts'],
      // server.ts runs only as its own process (test/server-lifecycle.test.ts), which v8 cannot see from here.
      exclude: ['**/*.test.ts', 'packages/audit-core/testing/**', 'apps/api/src/server.ts'],
      reporter: ['text-summary', 'text'],
      reportOnFailure: true,
      thresholds: {
        'packages/audit-core/src/**': { lines: 90 },
        'apps/api/src/**': { lines: 85 },
      },
    },
  },
})
