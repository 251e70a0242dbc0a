import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import express from 'express'
import { getAuditContext } from './context.ts'
import { auditContext, getRequestAuditContext } from './express.ts'
import { runMiddlewareSuite } from '../testing/middleware-suite.ts'

runMiddlewareSuite(async (audit, { trustProxy }) => {
  const app = express()
  app.use(auditContext({ trustProxy, enrich: (req, ctx) => (ctx.tenantId = req.get('x-tenant')) }))
  app.use((req, _res, next) => {
    getRequestAuditContext(req)!.operator = req.get('x-user')
    next()
  })
  // the body parser runs after the middleware: the context must survive it
  app.use(express.json())
  app.get('/context', async (req, res) => {
    await sleep(Number(req.query.delay))
    res.json({ als: getAuditContext(), req: getRequestAuditContext(req) })
  })
  app.post('/symbols/:symbol', async (req, res) => {
    const { records, delay = 0 } = req.body as { records: number; delay?: number }
    await audit.auditOperation({ operationType: 'stock_price_download', resourceType: 'symbol', resourceId: req.params.symbol }, async (op) => {
      await sleep(delay)
      if (req.params.symbol === 'FAIL') throw new Error('upstream down')
      op.extraInfo.records_count = records
    })
    res.json({ downloaded: records })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  }
})
