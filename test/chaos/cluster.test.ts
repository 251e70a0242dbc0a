/**
 * The chaos cluster itself: each fault it can inject is seen from a client
 * the way a service would see it, and it never is the shared server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import postgres from 'postgres'
import { clusterUnavailable, startCluster, type ChaosCluster } from './cluster.ts'

const unavailable = clusterUnavailable()
if (unavailable) console.warn(`chaos: cluster tests skipped: ${unavailable}`)

describe.skipIf(unavailable !== undefined)('chaos cluster', () => {
  let cluster: ChaosCluster
  beforeAll(async () => {
    cluster = await startCluster()
  })
  afterAll(async () => {
    await cluster?.destroy()
  })

  it('is its own server on its own port, with its data in a temporary directory', async () => {
    expect(cluster.port).not.toBe(5432)
    const [row] = await cluster.query<{ port: string; dir: string }>(`select current_setting('port') as port, current_setting('data_directory') as dir`)
    expect(Number(row?.port)).toBe(cluster.port)
    expect(row?.dir.startsWith(cluster.dir)).toBe(true)
  })

  it('stop refuses connections and start brings the data back', async () => {
    const url = await cluster.createDatabase('lifecycle')
    await cluster.query('create table t (n int); insert into t values (1)', [], 'lifecycle')
    await cluster.stop()
    const client = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
    try {
      await expect(client`select 1`).rejects.toMatchObject({ code: 'ECONNREFUSED' })
      await cluster.start()
      expect(await client`select n from t`).toEqual([{ n: 1 }])
    } finally {
      await client.end({ timeout: 1 })
    }
  })

  it('kill crashes the server and start recovers it', async () => {
    const url = await cluster.createDatabase('crash')
    await cluster.query('create table t (n int); insert into t values (7)', [], 'crash')
    const before = cluster.postmasterPid()
    await cluster.kill()
    expect(cluster.postmasterPid()).toBeUndefined()
    await cluster.start()
    expect(cluster.postmasterPid()).not.toBe(before)
    const client = postgres(url, { max: 1, onnotice: () => {} })
    try {
      expect(await client`select n from t`).toEqual([{ n: 7 }])
    } finally {
      await client.end({ timeout: 1 })
    }
  })

  it('pause holds a query until resume', async () => {
    const client = postgres(cluster.url, { max: 1, onnotice: () => {} })
    try {
      await client`select 1`
      cluster.pause()
      let answered = false
      const pending = client`select 2 as n`.then((r) => ((answered = true), r))
      await new Promise((r) => setTimeout(r, 300))
      expect(answered).toBe(false)
      cluster.resume()
      expect(await pending).toEqual([{ n: 2 }])
    } finally {
      cluster.resume()
      await client.end({ timeout: 1 })
    }
  })

  it('terminateBackends ends the matching sessions only', async () => {
    const victim = postgres(cluster.url, { max: 1, onnotice: () => {}, connection: { application_name: 'chaos-victim' } })
    const bystander = postgres(cluster.url, { max: 1, onnotice: () => {}, connection: { application_name: 'chaos-bystander' } })
    try {
      const sleeping = victim`select pg_sleep(30)`.catch((e: unknown) => (e as { code?: string }).code)
      await bystander`select 1`
      for (let i = 0; i < 100; i++) {
        const [r] = await cluster.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where application_name = 'chaos-victim' and state = 'active'`)
        if (r?.n === 1) break
        await new Promise((res) => setTimeout(res, 20))
      }
      expect(await cluster.terminateBackends(`application_name = 'chaos-victim'`)).toBe(1)
      // postgres.js reports the FATAL (57P01 admin_shutdown) or only the closed socket, as the race goes
      expect(['57P01', 'CONNECTION_CLOSED']).toContain(await sleeping)
      expect(await bystander`select 3 as n`).toEqual([{ n: 3 }])
    } finally {
      await victim.end({ timeout: 1 })
      await bystander.end({ timeout: 1 })
    }
  })
})
