import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'

/** apps/web/dist, where `pnpm --filter @audit/web build` puts the page. */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url))

// The page needs nothing but its own origin; no inline script can run.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/** Serves the built events page at `/` (its assets under /assets). */
export function webRoutes(dist: string) {
  const app = new Hono()
  if (!existsSync(path.join(dist, 'index.html'))) {
    app.get('/', (c) => c.text('The events page is not built: run `pnpm --filter @audit/web build`.', 503))
    return app
  }
  app.use('*', async (c, next) => {
    await next()
    c.header('Content-Security-Policy', CSP)
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
  })
  app.use('/assets/*', serveStatic({ root: path.relative(process.cwd(), dist) || '.', onFound: (_p, c) => c.header('Cache-Control', 'public, max-age=31536000, immutable') }))
  let index: string | undefined
  app.get('/', async (c) => {
    index ??= await readFile(path.join(dist, 'index.html'), 'utf8')
    c.header('Cache-Control', 'no-cache')
    return c.html(index)
  })
  return app
}
