/**
 * The OpenAPI-driven fuzzer (issue 12: items 10-12): more than 1,000
 * hostile requests generated from /openapi.json, on the in-process app over
 * PGlite and, where a chaos cluster can run, over the Postgres store.
 * Asserts no 5xx, no event acknowledged and then dropped (every 201/202
 * ingest's ids are in the database; the queue rejected nothing), and no
 * 2xx for a value the service must refuse (an unknown parameter, NUL in a
 * filter, a date outside years 1-9999 or one that does not exist, a lone
 * surrogate, nesting 5,000 deep…).
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { AuditStore } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import { openPostgresStore } from '@audit/core/postgres'
import { KEYS, testApp } from '../../apps/api/test-support/test-app.ts'
import { clusterUnavailable, startCluster, type ChaosCluster } from './cluster.ts'
import { fuzzCases, operationsOf, Rng, type FuzzCase } from './fuzz.ts'
import type { Db } from './harness.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 12)
const unavailable = clusterUnavailable()
if (unavailable) console.warn(`chaos: the fuzzer runs on PGlite only: ${unavailable}`)

interface Engine {
  name: string
  open: () => Promise<{ store: AuditStore; db: Db; close: () => Promise<void> }>
}

let cluster: ChaosCluster | undefined
const engines: Engine[] = [
  {
    name: 'pglite',
    async open() {
      const store = await openPgliteStore({ dataDir: 'memory://' })
      return { store, db: { query: async (text, params) => (await store.db.query(text, params)).rows as never }, close: async () => {} }
    },
  },
]
if (!unavailable) {
  engines.push({
    name: 'postgres',
    async open() {
      cluster ??= await startCluster()
      const url = await cluster.createDatabase(`fuzz_${Date.now()}`)
      const store = await openPostgresStore({ databaseUrl: url })
      return { store, db: { query: async (text, params) => (await store.pools.read.query(text, params as unknown[])).rows as never }, close: async () => {} }
    },
  })
}

afterAll(async () => {
  await cluster?.destroy()
})

/** Sends one case in process, with a deadline: a request that never answers is as bad as a 500. */
async function send(app: { request: (url: string, init: RequestInit) => Response | Promise<Response> }, c: FuzzCase) {
  const init: RequestInit = { method: c.method, headers: c.headers, ...(c.body ? { body: c.body as BodyInit } : {}) }
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))
  try {
    const res = await Promise.race([
      (async () => {
        const r = await app.request(`http://127.0.0.1${c.url}`, init)
        // a live stream stays open by design: its status and headers are the answer
        if (r.headers.get('content-type')?.startsWith('text/event-stream')) {
          await r.body?.cancel()
          return { status: r.status, text: '' }
        }
        const text = await r.text()
        return { status: r.status, text }
      })(),
      deadline,
    ])
    return res === 'timeout' ? { status: 'timeout' as const, text: '' } : res
  } catch (err) {
    return { status: `threw ${(err as Error).name}` as const, text: (err as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

describe.each(engines)('chaos: OpenAPI fuzzer on $name', (engine) => {
  it(`answers ≥ 1,000 hostile requests (seed ${SEED}) with no 5xx, no silent loss and no 2xx for refused input`, async () => {
    const { store, db, close } = await engine.open()
    const t = await testApp({ store })
    try {
      const doc = (await t.call('/openapi.json', { key: null })).json
      const cases = fuzzCases(operationsOf(doc), new Rng(SEED), KEYS)
      expect(cases.length).toBeGreaterThanOrEqual(1000)

      const byStatus: Record<string, number> = {}
      const serverErrors: string[] = []
      const accepted: string[] = []
      const acknowledged = new Map<string, string>()
      let checked = false
      let missing: string[] = []
      let rejected = 0
      for (const c of cases) {
        if (c.destructive && !checked) {
          // Before anything is deleted: everything acknowledged is in the database.
          ;({ missing, rejected } = await checkAcknowledged(t.audit, db, acknowledged))
          checked = true
        }
        const r = await send(t.app, c)
        byStatus[String(r.status)] = (byStatus[String(r.status)] ?? 0) + 1
        const line = `${c.method} ${c.url.slice(0, 120)} [${c.what}] → ${r.status} ${r.text.slice(0, 160)}`
        if (typeof r.status !== 'number' || r.status >= 500) serverErrors.push(line)
        else if (r.status < 300 && c.refuse) accepted.push(`${c.refuse}: ${line}`)
        if (c.ingest && (r.status === 201 || r.status === 202)) {
          for (const id of (JSON.parse(r.text) as { ids: string[] }).ids) acknowledged.set(id, line)
        }
      }
      if (!checked) ({ missing, rejected } = await checkAcknowledged(t.audit, db, acknowledged))

      const summary = Object.entries(byStatus)
        .sort()
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')
      console.log(
        `fuzz ${engine.name} seed ${SEED}: ${cases.length} requests (${summary}); ${serverErrors.length} × 5xx, ` +
          `${acknowledged.size} events acknowledged, ${missing.length} of them missing, ${rejected} rejected after acknowledgement, ` +
          `${accepted.length} refused-input requests answered 2xx`,
      )
      const tally = (lines: string[], key: (l: string) => string) =>
        JSON.stringify(lines.reduce<Record<string, number>>((t, l) => ((t[key(l)] = (t[key(l)] ?? 0) + 1), t), {}))
      console.log(`  5xx by operation ${tally(serverErrors, (l) => l.replace(/\?.*/, '').replace(/ \[.*/, ''))}`)
      console.log(`  2xx for refused input, by reason ${tally(accepted, (l) => l.slice(0, l.indexOf(':')))}`)
      for (const l of serverErrors.slice(0, 15)) console.log(`  5xx ${l}`)
      for (const l of accepted.slice(0, 15)) console.log(`  2xx ${l}`)
      for (const id of missing.slice(0, 10)) console.log(`  lost ${id}: ${acknowledged.get(id)}`)
      expect({ serverErrors: serverErrors.length, missing: missing.length, rejected, accepted: accepted.length }).toEqual({
        serverErrors: 0,
        missing: 0,
        rejected: 0,
        accepted: 0,
      })
    } finally {
      await t.close()
      await close()
    }
  }, 300_000)
})

/** Waits for the queue to be written, then: which acknowledged ids are not in the database, and how many events the queue rejected. */
async function checkAcknowledged(audit: { flush(): Promise<void>; stats(): { rejected: number } }, db: Db, acknowledged: Map<string, string>) {
  await Promise.race([audit.flush(), new Promise((r) => setTimeout(r, 30_000))])
  const ids = [...acknowledged.keys()]
  const present = new Set<string>()
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await db.query<{ id: string }>('select id::text as id from public.audit_events where id = any($1::uuid[])', [ids.slice(i, i + 5000)])
    for (const r of rows) present.add(r.id)
  }
  return { missing: ids.filter((id) => !present.has(id)), rejected: audit.stats().rejected }
}
