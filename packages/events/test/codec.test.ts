import { describe, expect, it } from 'vitest'
import { decodeEvent, encodeEvent, newEvent } from '../src/index.ts'

describe('event codec', () => {
  it('round-trips a session event through stream fields', () => {
    const event = newEvent({
      type: 'session.revoked',
      userId: 'u1',
      sessionId: 's1',
      data: { reason: 'logout', accessTokensValidUntil: new Date().toISOString() },
    })
    const decoded = decodeEvent(encodeEvent(event))
    expect(decoded).toEqual({ ok: true, event })
  })

  it.each([
    ['no data field', ['type', 'x']],
    ['data is not JSON', ['type', 'x', 'data', '{']],
    ['data does not match the event schema', ['type', 'x', 'data', '{"type":"session.created"}']],
    [
      'data does not match the event schema',
      [
        'data',
        JSON.stringify({ ...newEvent({ type: 'login.failed', data: { reason: 'locked' } }), type: 'nope' }),
      ],
    ],
  ])('rejects an entry with %s', (reason, fields) => {
    const decoded = decodeEvent(fields)
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.reason).toContain(reason.split(' ')[0])
  })

  it('gives every event a unique id', () => {
    const ids = new Set(
      Array.from({ length: 1000 }, () => newEvent({ type: 'login.failed', data: { reason: 'locked' } }).id),
    )
    expect(ids.size).toBe(1000)
  })
})
