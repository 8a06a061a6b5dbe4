import { newEvent, type SessionEvent } from '@africhain/events'
import { describe, expect, it } from 'vitest'
import { fullEnvelope, slimEnvelope } from '../src/domain/stored-envelope.ts'

const columnsOf = (e: SessionEvent, envelope: string) => ({
  id: e.id,
  type: e.type,
  user_id: e.userId ?? null,
  session_id: e.sessionId ?? null,
  ip: e.ip ?? null,
  envelope,
})

describe('stored envelope', () => {
  const events: SessionEvent[] = [
    newEvent({
      type: 'session.created',
      userId: 'u1',
      sessionId: 's1',
      ip: '10.0.0.1',
      userAgent: 'AfriChain/1.4',
      device: { platform: 'android', id: 'd1' },
      data: { expiresAt: new Date(0).toISOString(), rememberMe: true },
    }),
    newEvent({ type: 'login.failed', userId: 'u2', data: { reason: 'invalid_credentials' } }),
  ]

  it('keeps only what the columns do not hold, and rebuilds the envelope exactly', () => {
    for (const e of events) {
      const slim = slimEnvelope(e)
      expect(JSON.parse(slim)).not.toHaveProperty('id')
      expect(JSON.parse(slim)).not.toHaveProperty('userId')
      expect(fullEnvelope(columnsOf(e, slim))).toBe(JSON.stringify(e))
    }
  })

  it('serves rows stored with the whole envelope as they are', () => {
    const e = events[0]!
    expect(fullEnvelope(columnsOf(e, JSON.stringify(e)))).toBe(JSON.stringify(e))
  })
})
