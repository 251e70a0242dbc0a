import { createRequire } from 'node:module'
import path from 'node:path'
import { readFile } from 'node:fs/promises'
import { Hono } from 'hono'

const require = createRequire(import.meta.url)
const assetsDir = path.dirname(require.resolve('swagger-ui-dist/package.json'))
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audit events API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', persistAuthorization: false })`

/** GET /docs: Swagger UI served from the swagger-ui-dist package (no CDN, works offline). */
export function docsRoutes() {
  const app = new Hono()
  app.get('/', (c) => c.html(PAGE))
  app.get('/init.js', (c) => c.body(INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }))
  app.get('/:asset', async (c) => {
    const name = c.req.param('asset')
    const type = ASSETS[name]
    if (!type) return c.json({ detail: 'Not Found' }, 404)
    return c.body(await readFile(path.join(assetsDir, name)), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' })
  })
  return app
}
