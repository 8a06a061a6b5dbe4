import { createHash, randomBytes } from 'node:crypto'
import type { Mysql } from './probes.ts'

const hash = (token: string) => createHash('sha256').update(token).digest()

/**
 * Gives a just-logged-in session the history of `rotations` refreshes, directly in the database and in the
 * shape the service wrote before it pruned (one `refresh_tokens` row per token it ever issued: SHA-256 of
 * an `rt_` token, the session, its generation): the worst case an upgraded deployment starts from. The
 * login's token becomes generation `rotations + 1` (its row and the session's CAS column say so, which is
 * what the service reads), rotated a minute ago (outside the grace window) with a sealed successor of the
 * service's size. Rotating 160,000 times through the API instead would take minutes.
 */
export async function seedRotations(
  mysql: Mysql,
  session: { sessionId: string; refreshToken: string },
  rotations: number,
): Promise<void> {
  const current = rotations + 1
  await mysql.query('start transaction')
  await mysql.query('update refresh_tokens set generation = ? where hash = ?', [
    current,
    hash(session.refreshToken),
  ])
  await mysql.query(
    'update sessions set generation = ?, rotated_at = utc_timestamp(3) - interval 1 minute, successor_enc = ? where id = ?',
    [current, randomBytes(71).toString('base64url'), session.sessionId],
  )
  const created = new Date(Date.now() - 86_400_000)
  for (let g = 1; g <= rotations; g += 1000) {
    const rows: unknown[][] = []
    for (let k = g; k < Math.min(g + 1000, current); k++)
      rows.push([hash(`rt_${randomBytes(32).toString('base64url')}`), session.sessionId, k, created])
    await mysql.query('insert into refresh_tokens (hash, session_id, generation, created_at) values ?', [
      rows,
    ])
  }
  await mysql.query('commit')
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
