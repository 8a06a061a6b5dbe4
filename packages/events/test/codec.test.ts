import { describe, expect, it } from 'vitest'
import { uuidv7 } from '../src/codec.ts'
import { decodeAlert, decodeEvent, encodeEvent, newEvent, newRiskAlert } from '../src/index.ts'

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

  it.each([
    ['the epoch', 0],
    ['a day in 2026', Date.parse('2026-11-27T23:59:59.999Z')],
    ['the largest 48-bit time', 2 ** 48 - 1],
  ])('event ids are UUIDv7 carrying the event time in ms (%s)', (_, ms) => {
    const id = uuidv7(ms)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(ms)
  })

  it('event ids sort by event time and stay unique within one millisecond', () => {
    const at = Date.parse('2026-11-27T10:00:00.000Z')
    const earlier = newEvent({ type: 'login.failed', data: { reason: 'locked' } }, new Date(at - 1))
    const later = newEvent({ type: 'login.failed', data: { reason: 'locked' } }, new Date(at))
    expect(earlier.id < later.id).toBe(true)
    const same = new Set(Array.from({ length: 5000 }, () => uuidv7(at)))
    expect(same.size).toBe(5000)
    expect(decodeEvent(encodeEvent(later))).toEqual({ ok: true, event: later })
  })

  it('decoded strings are well-formed: a lone surrogate becomes U+FFFD, pairs stay', () => {
    const event = newEvent({
      type: 'session.created',
      userId: 'u1',
      sessionId: 's1',
      device: { platform: 'android', id: 'a\uD800b\uDC00c😀' },
      data: { expiresAt: new Date().toISOString(), rememberMe: false },
    })
    const [, , , data] = encodeEvent(event)
    expect(data).toContain('\\ud800') // JSON.stringify escapes lone surrogates
    const decoded = decodeEvent(['type', event.type, 'data', data])
    expect(decoded.ok && decoded.event.device?.id).toBe('a\uFFFDb\uFFFDc😀')
  })
})

describe('risk alert codec', () => {
  const factors = [{ code: 'FAILED_LOGINS', points: 20, detail: { failedLogins: 7 } }]

  it('round-trips an alert with its holderScore', () => {
    const alert = newRiskAlert('u1', { score: 75, holderScore: 20, factors })
    expect(decodeAlert(encodeEvent(alert))).toEqual({ ok: true, event: alert })
  })

  it('decodes an alert from an older worker (no holderScore) with holderScore 0', () => {
    const alert = newRiskAlert('u1', { score: 90, holderScore: 90, factors })
    const { holderScore: _, ...oldData } = alert.data
    const old = { ...alert, data: oldData }
    const decoded = decodeAlert(['type', 'risk.alert', 'data', JSON.stringify(old)])
    expect(decoded).toEqual({ ok: true, event: { ...old, data: { ...oldData, holderScore: 0 } } })
  })

  it.each([
    ['a string', '"90"'],
    ['above 100', '101'],
    ['negative', '-1'],
    ['null', 'null'],
  ])('rejects a holderScore that is %s', (_, value) => {
    const alert = newRiskAlert('u1', { score: 90, holderScore: 0, factors })
    const data = JSON.stringify(alert).replace('"holderScore":0', `"holderScore":${value}`)
    expect(decodeAlert(['type', 'risk.alert', 'data', data]).ok).toBe(false)
  })

  it('still rejects an alert without data', () => {
    const { data: _, ...bare } = newRiskAlert('u1', { score: 90, holderScore: 0, factors })
    expect(decodeAlert(['type', 'risk.alert', 'data', JSON.stringify(bare)]).ok).toBe(false)
  })
})
