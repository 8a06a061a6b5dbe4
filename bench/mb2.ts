import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { execSync } from 'node:child_process'
import { createPool } from 'mysql2/promise'
import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import { MIGRATION_TABLE, tokenMigrations } from '../services/token/src/storage/migrations/index.ts'

const URL_ = 'mysql://root@127.0.0.1:3306/mb_scratch2'
await ensureDatabase(URL_)
{ const db = createDb<any>({ url: URL_, connectionLimit: 2 }); await migrateToLatest(db, tokenMigrations, MIGRATION_TABLE); await db.destroy() }
const mpid = Number(execSync('pidof mariadbd').toString().trim().split(' ')[0])
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10_000 }
const pool = createPool({ host: '127.0.0.1', user: 'root', database: 'mb_scratch2', connectionLimit: 17, timezone: 'Z', supportBigNumbers: true })
const payload = JSON.stringify({ id: randomUUID(), version: 1, occurredAt: new Date().toISOString(), type: 'session.refreshed', userId: randomUUID(), sessionId: 'abcdefghijabcdefghij12', ip: '127.0.0.1', userAgent: 'bench-chains/1', device: { id: 'bench-chain', platform: 'web' }, data: { generation: 12 } })
let sk = 1_700_000_000_000
async function relayRound(mode: string) {
  const [rows] = (await pool.query('select seq, id, payload from outbox where stream_key is null order by seq limit 500')) as any
  await pool.query('select max(stream_key) as k from outbox')
  if (rows.length === 0) return
  if (mode === 'mark') {
    const whens = rows.map((r: any) => `when ${r.seq} then '${sk++}-0'`).join(' ')
    await pool.query(`update outbox set published_at = ?, stream_key = case seq ${whens} end where seq in (${rows.map((r: any) => r.seq).join(',')})`, [new Date()])
  } else if (mode === 'delete') {
    await pool.query(`delete from outbox where seq in (${rows.map((r: any) => r.seq).join(',')})`)
  }
}
for (const mode of (process.env.MODES ?? 'none,mark,delete,none,mark,delete').split(',')) {
  await pool.query('delete from outbox')
  let stop = false
  const relay = (async () => { while (!stop) { if (mode !== 'none') await relayRound(mode); await new Promise((r) => setTimeout(r, 50)) } })()
  const m0 = cpu(mpid), t0 = performance.now(); const N = 600
  await Promise.all(Array.from({ length: 16 }, async () => { for (let k = 0; k < N; k++) await pool.query('insert into outbox (id, payload, created_at) values (?, ?, ?)', [randomUUID(), payload, new Date()]) }))
  stop = true; await relay; if (mode !== 'none') { await relayRound(mode); await relayRound(mode) }
  const ops = 16 * N
  console.log(`${mode.padEnd(8)} ${(ops / (performance.now() - t0) * 1000).toFixed(0)}/s mariadb ${((cpu(mpid) - m0) / ops).toFixed(0)} µs/row`)
}
await pool.end()
