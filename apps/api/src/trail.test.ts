import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditLogger, type TrailStore } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import { migratedPgliteDump, seedEvents } from '@audit/core/testing'
import { createApp } from './app.ts'
import { apiKey } from './auth.ts'
import { parseRetention } from './retention.ts'
import { SIGNED_FILE, signLatest } from './signer.ts'

const ADMIN = 'admin-secret-0123456789'
const READ = 'read-secret-0123456789'
const key = generateKeyPairSync('ed25519')

describe('the trail over HTTP, and the signer', () => {
  let store: Awaited<ReturnType<typeof openPgliteStore>>
  let trail: TrailStore
  let dir: string
  let app: ReturnType<typeof createApp>
  const get = async (p: string, secret = ADMIN) => app.request(p, { headers: { authorization: `Bearer ${secret}` } })

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://', loadDataDir: await migratedPgliteDump() })
    trail = store.trail as TrailStore
    dir = await mkdtemp(path.join(tmpdir(), 'signed-'))
    const audit = createAuditLogger({ store, log: { warn() {}, error() {} }, source: 'system' })
    app = createApp({ store, audit, keys: [apiKey('admin', ADMIN), apiKey('read', READ)], trailPublicKey: key.publicKey, webDist: null, retention: parseRetention('300') })
  }, 60_000)
  afterAll(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('signs only when something was written, once per checkpoint, and publishes to the directory and the log', async () => {
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) })
    const opts = { trail, key: key.privateKey, intervalMs: 60_000, dir, log }
    expect(await signLatest(opts)).toBeNull() // nothing written yet
    await store.insertEvents(seedEvents(10, { seed: 3 }))
    const signed = await signLatest(opts)
    expect(signed).toMatchObject({ seq: 1 })
    expect(await signLatest(opts)).toBeNull() // nothing new
    const published = (await readFile(path.join(dir, SIGNED_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown)
    expect(published).toEqual([signed])
    expect(lines.some((l) => (JSON.parse(l) as { signed_checkpoint?: { seq: number } }).signed_checkpoint?.seq === 1)).toBe(true)
    // a second replica that signed the same checkpoint: not recorded, not published
    expect(await trail.recordSignature({ ...signed!, signature: signed!.signature })).toBe(false)
  })

  it('GET /api/v1/audit/verify reports the trail intact with the last verified checkpoint (admin only)', async () => {
    expect((await get('/api/v1/audit/verify', READ)).status).toBe(403)
    const res = await get('/api/v1/audit/verify')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ intact: true, events: 10, checkpoints: 1, last_signed: { seq: 1, verified: true }, problems: [] })
  })

  it('GET /api/v1/audit/verify names the first broken row after an owner edits one', async () => {
    await store.db.exec('alter table public.audit_events disable trigger audit_events_no_update')
    const [row] = (await store.db.query<{ id: string; message: string | null }>('select id, message from public.audit_events order by id limit 1 offset 4')).rows
    await store.db.query(`update public.audit_events set message = 'edited' where id = $1`, [row!.id])
    const report = (await (await get('/api/v1/audit/verify')).json()) as { intact: boolean; problems: unknown[] }
    // put it back: the trail is intact again for the tests after this one
    await store.db.query(`update public.audit_events set message = $2 where id = $1`, [row!.id, row!.message])
    await store.db.exec('alter table public.audit_events enable trigger audit_events_no_update')
    expect(report.intact).toBe(false)
    expect(report.problems[0]).toMatchObject({ kind: 'altered_row', seq: 1, position: 4, id: row!.id })
  })

  it('GET /api/v1/audit/trail/checkpoints exports the checkpoints, then the signatures', async () => {
    const res = await get('/api/v1/audit/trail/checkpoints', READ)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/x-ndjson')
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => [l.seq, 'signature' in l])).toEqual([
      [1, false],
      [1, true],
    ])
  })

  it('records retention and purge deletions with their reasons, and the verifier reports them as authorised', async () => {
    const day = 86_400_000
    await store.insertEvents(seedEvents(4, { seed: 5, now: Date.now() - 400 * day, days: 1 }))
    await store.insertEvents(seedEvents(3, { seed: 6 }).map((e) => ({ ...e, operation_type: 'purge_me' })))
    const retention = await app.request('/api/v1/audit/retention/run', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })
    expect(await retention.json()).toMatchObject({ total: 4 })
    const purge = await app.request('/api/v1/audit/events?operation_type=purge_me&start_date=2000-01-01&end_date=2100-01-01&confirm=true', { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } })
    expect(await purge.json()).toEqual({ deleted: 3 })
    const deletes = (await trail.checkpoints(0, 1000)).filter((c) => c.kind === 'delete')
    const byRetention = deletes.filter((c) => c.reason?.startsWith('retention: '))
    expect(byRetention.reduce((n, c) => n + c.count, 0)).toBe(4)
    for (const c of byRetention) expect(c.reason).toMatch(/^retention: \w+ older than 300 days$/)
    expect(deletes.filter((c) => !byRetention.includes(c)).map((c) => [c.count, c.reason])).toEqual([[3, expect.stringMatching(/^purge by admin-key-\w+: \{.*"operation_type":\["purge_me"\]/)]])
    const report = await (await get('/api/v1/audit/verify')).json()
    expect(report).toMatchObject({ intact: true, deleted: 7, problems: [] })
  })
})
