import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { getAuditContext } from './context.ts'
import { auditContext, getRequestAuditContext } from './fastify.ts'
import { runMiddlewareSuite } from '../testing/middleware-suite.ts'

runMiddlewareSuite(async (audit, { trustProxy }) => {
  const app = Fastify()
  app.addHook('onRequest', auditContext({ trustProxy, enrich: (request, ctx) => (ctx.tenantId = request.headers['x-tenant'] as string | undefined) }))
  // an async hook after the body is parsed, as auth would be
  app.addHook('preHandler', async (request) => {
    getRequestAuditContext(request)!.operator = request.headers['x-user'] as string | undefined
  })
  // routes in an encapsulated plugin are covered by the root's hook
  await app.register(async (scope) => {
    scope.get<{ Querystring: { delay: string } }>('/context', async (request) => {
      await sleep(Number(request.query.delay))
      return { als: getAuditContext(), req: getRequestAuditContext(request) }
    })
  })
  app.post<{ Params: { symbol: string }; Body: { records: number; delay?: number } }>('/symbols/:symbol', async (request) => {
    const { records, delay = 0 } = request.body
    const { symbol } = request.params
    await audit.auditOperation({ operationType: 'stock_price_download', resourceType: 'symbol', resourceId: symbol }, async (op) => {
      await sleep(delay)
      if (symbol === 'FAIL') throw new Error('upstream down')
      op.extraInfo.records_count = records
    })
    return { downloaded: records }
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, close: () => app.close() }
})
