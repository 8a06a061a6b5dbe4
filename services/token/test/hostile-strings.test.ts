import { createDb } from '@africhain/db'
import { decodeEvent, type SessionEvent } from '@africhain/events'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TokenDatabase } from '../src/storage/tables.ts'
import { authed, type Pair, useTestApp } from './helpers/app.ts'

/**
 * Text full of what breaks hand-escaped SQL — quotes, backslashes, NUL, `';--` — and multibyte and astral
 * characters, through registration, login and the rotation (one multi-statement round trip): it comes back
 * byte for byte from the tables, from GET /auth/sessions, from the outbox and from the stream. CI runs this
 * file against the default MariaDB and against one whose global sql_mode has NO_BACKSLASH_ESCAPES and
 * ANSI_QUOTES (infra/scripts/hostile-mariadb.ts), where a `\'` the driver wrote would end the string and the
 * rest would run as SQL.
 */
const { app, config, redis } = useTestApp('hostile_strings', { build: { background: false } })
let db: Kysely<TokenDatabase>

beforeAll(async () => {
  // No relay in the background: the outbox rows stay until the test publishes them.
  db = createDb<TokenDatabase>({ url: config.DATABASE_URL, connectionLimit: 2 })
})
afterAll(async () => {
  await db?.destroy()
})

const INJECTION = "'; drop table outbox; -- \\'; drop table sessions; -- \\\\' or '1'='1"
// Emails allow no controls or spaces: quotes, backslashes, `;--`, a combining mark and an astral character,
// lower case and NFKC-stable (compared after NFKC all the same, as the service normalises).
const IDENTIFIER = `o'brien"\\';--ọ́🧺@x.test`
const DISPLAY_NAME = `O'Brien "\\" ';-- 🧺 \u0000 Ọ̀jọ́`
const DEVICE = {
  id: `dev-'"\\';--\u0000-𝔘-👩🏾‍💻`,
  platform: 'android',
  name: `Amina's "phone" \\ ${INJECTION.slice(0, 40)} ñ \u0000`,
}
const UA_LOGIN = `Mozilla/5.0 (${INJECTION}) "quoted" \\ back\\slash ñ 𝔘`
const UA_REFRESH = `AfriChain/2 \\'; drop table refresh_tokens; -- "x" \\\\ \u0000 Àṣà 🧺 ${INJECTION}`

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase()

describe('hostile strings, stored and read back byte for byte', () => {
  let userId: string
  let pair: Pair

  beforeAll(async () => {
    const reg = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { identifier: IDENTIFIER, password: 'correct horse battery', displayName: DISPLAY_NAME },
    })
    expect(reg.statusCode, reg.body).toBe(201)
    userId = reg.json().userId
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'user-agent': UA_LOGIN },
      payload: { identifier: IDENTIFIER, password: 'correct horse battery', device: DEVICE },
    })
    expect(login.statusCode, login.body).toBe(200)
    // The rotation: one multi-statement round trip that writes the user agent and the event's JSON.
    const refreshed = await app.inject({
      method: 'POST',
      url: '/auth/refresh-token',
      headers: { 'user-agent': UA_REFRESH },
      payload: { refreshToken: login.json().refreshToken, device: DEVICE },
    })
    expect(refreshed.statusCode, refreshed.body).toBe(200)
    pair = refreshed.json()
  })

  it('in the users and sessions tables (every table still there)', async () => {
    const user = await sql<{ identifier: string; display_name: string; i: string; d: string }>`
      select identifier, display_name, hex(identifier) as i, hex(display_name) as d from users
      where id = ${userId}`.execute(db)
    expect(user.rows[0]).toEqual({
      identifier: IDENTIFIER.normalize('NFKC'),
      display_name: DISPLAY_NAME,
      i: hex(IDENTIFIER.normalize('NFKC')),
      d: hex(DISPLAY_NAME),
    })
    const session = await sql<{ device_id: string; device_name: string; user_agent: string; ua: string }>`
      select device_id, device_name, user_agent, hex(user_agent) as ua from sessions
      where id = ${pair.sessionId}`.execute(db)
    expect(session.rows[0]).toEqual({
      device_id: DEVICE.id,
      device_name: DEVICE.name,
      user_agent: UA_REFRESH,
      ua: hex(UA_REFRESH),
    })
    const tokens = await sql<{ n: number }>`select count(*) as n from refresh_tokens
      where session_id = ${pair.sessionId}`.execute(db)
    // The table is still there (the query ran); a signed token has no row of its own.
    expect(Number(tokens.rows[0]!.n)).toBe(0)
  })

  it('from GET /auth/sessions', async () => {
    const res = await authed(app, 'GET', '/auth/sessions', pair.accessToken)
    expect(res.statusCode).toBe(200)
    expect(res.json().sessions).toEqual([
      expect.objectContaining({
        sessionId: pair.sessionId,
        device: { id: DEVICE.id, platform: DEVICE.platform, name: DEVICE.name, userAgent: UA_REFRESH },
      }),
    ])
  })

  it('in the outbox and on the event stream', async () => {
    const mine = (events: SessionEvent[]) =>
      events.filter((e) => e.userId === userId && e.type !== 'user.registered')
    const expected = [
      expect.objectContaining({ type: 'session.created', userAgent: UA_LOGIN, device: DEVICE }),
      expect.objectContaining({ type: 'session.refreshed', userAgent: UA_REFRESH, device: DEVICE }),
    ]
    const outbox = await db.selectFrom('outbox').select('payload').orderBy('seq').execute()
    expect(mine(outbox.map((r) => JSON.parse(r.payload) as SessionEvent))).toEqual(expected)

    expect(await app.relay.runOnce()).toBe(outbox.length)
    const entries = await redis.xrange(config.EVENTS_STREAM, '-', '+')
    const published = entries.map(([, fields]) => {
      const decoded = decodeEvent(fields)
      if (!decoded.ok) throw new Error(decoded.reason)
      return decoded.event
    })
    expect(mine(published)).toEqual(expected)
    const created = mine(published)[0]!
    const raw = outbox.find((r) => r.payload.includes(`"id":"${created.id}"`))!.payload
    expect(entries.find(([, f]) => f.includes(raw))).toBeDefined() // the stored JSON text, as it was written
  })
})
