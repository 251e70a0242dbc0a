import react from '@vitejs/plugin-react'
import { defaultClientConditions, defineConfig } from 'vite'

export default defineConfig({
  plugins: [react()],
  // @audit/core from its TypeScript sources (its `@audit/source` export condition), not its dist/.
  resolve: { conditions: ['@audit/source', ...defaultClientConditions] },
  server: {
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:8787', '/health': 'http://127.0.0.1:8787' },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
})
