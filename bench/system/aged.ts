import { createHash, randomBytes } from 'node:crypto'
import type { Mysql } from './probes.ts'

const hash = (token: string) => createHash('sha256').update(token).digest()

/**
 * Gives a just-logged-in session the history of `rotations` refreshes, directly in the database and in the
 * shape the service wrote before it kept token hashes on the session row: one `refresh_tokens` row per token
 * it ever issued (SHA-256 of an `rt_` token, the session, its generation), the current one a legacy token
 * (random, known by its row) and no `current_hash` on the session (migration 008 adds it empty) — the worst
 * case an upgraded deployment starts from: the first refresh is judged by the token's row, the next ones by
 * the hash that rotation wrote. The session is at generation `rotations + 1`, rotated a minute ago (outside the
 * grace window) with a sealed successor of the service's size. Returns the token to continue the chain
 * with. Rotating 160,000 times through the API instead would take minutes.
 */
export async function seedRotations(mysql: Mysql, sessionId: string, rotations: number): Promise<string> {
  const current = rotations + 1
  const token = `rt_${randomBytes(32).toString('base64url')}`
  await mysql.query('start transaction')
  await mysql.query(
    'update sessions set generation = ?, current_hash = null, rotated_at = utc_timestamp(3) - interval 1 minute, successor_enc = ? where id = ?',
    [current, randomBytes(71).toString('base64url'), sessionId],
  )
  const created = new Date(Date.now() - 86_400_000)
  for (let g = 1; g <= current; g += 1000) {
    const rows: unknown[][] = []
    for (let k = g; k < Math.min(g + 1000, current + 1); k++)
      rows.push([
        k === current ? hash(token) : hash(`rt_${randomBytes(32).toString('base64url')}`),
        sessionId,
        k,
        created,
      ])
    await mysql.query('insert into refresh_tokens (hash, session_id, generation, created_at) values ?', [
      rows,
    ])
  }
  await mysql.query('commit')
  return token
}

/**
 * What storage per session grows with: the rows and bytes (hash, session id, generation, time, flag: 32 +
 * 22 + 4 + 7 + 1, without InnoDB's per-row and index overhead) the database holds for these sessions'
 * refresh tokens, and the rotations the sessions have had (their generations less the login's).
 */
export async function tokenRows(
  mysql: Mysql,
  sessionIds: string[],
): Promise<{ rows: number; bytes: number; rotations: number }> {
  const [[row]] = (await mysql.query(
    `select (select count(*) from refresh_tokens where session_id in (?)) as n,
      (select coalesce(sum(length(hash) + length(session_id) + 12), 0) from refresh_tokens where session_id in (?)) as bytes,
      (select coalesce(sum(generation - 1), 0) from sessions where id in (?)) as rotations`,
    [sessionIds, sessionIds, sessionIds],
  )) as unknown as [[{ n: number; bytes: number; rotations: number }]]
  return { rows: Number(row.n), bytes: Number(row.bytes), rotations: Number(row.rotations) }
}
