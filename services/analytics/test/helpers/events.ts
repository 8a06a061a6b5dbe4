import { newEvent, type Platform, type RevokeReason, type SessionEvent } from '@africhain/events'

/** Builders of realistic session events at a chosen time, as the token service publishes them. */
export type Who = { userId: string; sessionId: string; ip?: string; platform?: Platform; deviceId?: string }

const DAY = 86_400_000

function envelope(who: Who) {
  return {
    userId: who.userId,
    sessionId: who.sessionId,
    ip: who.ip ?? '196.201.214.10',
    userAgent: who.platform === 'ussd' ? 'ussd-gateway/2.1' : 'AfriChain/1.4 (Android 14)',
    device: {
      platform: who.platform ?? 'android',
      ...(who.deviceId ? { id: who.deviceId } : {}),
    },
  }
}

export function login(who: Who, at: number, rememberMe = false): SessionEvent {
  return newEvent(
    {
      type: 'session.created',
      ...envelope(who),
      data: { expiresAt: new Date(at + (rememberMe ? 30 : 7) * DAY).toISOString(), rememberMe },
    },
    new Date(at),
  )
}

export function refresh(who: Who, at: number, generation = 1): SessionEvent {
  return newEvent({ type: 'session.refreshed', ...envelope(who), data: { generation } }, new Date(at))
}

export function revoke(who: Who, at: number, reason: RevokeReason): SessionEvent {
  return newEvent(
    {
      type: 'session.revoked',
      ...envelope(who),
      data: { reason, accessTokensValidUntil: new Date(at + 900_000).toISOString() },
    },
    new Date(at),
  )
}

export function reuse(who: Who, at: number): SessionEvent {
  return newEvent(
    {
      type: 'token.reuse_detected',
      ...envelope(who),
      data: { presentedGeneration: 1, currentGeneration: 3 },
    },
    new Date(at),
  )
}

export function mismatch(who: Who, at: number): SessionEvent {
  return newEvent(
    { type: 'session.device_mismatch', ...envelope(who), data: { presentedDeviceId: 'other-device' } },
    new Date(at),
  )
}

export function failedLogin(userId: string | undefined, at: number, ip = '41.90.1.1'): SessionEvent {
  return newEvent(
    {
      type: 'login.failed',
      ...(userId ? { userId } : {}),
      ip,
      userAgent: 'python-requests/2.32',
      data: { reason: 'invalid_credentials' },
    },
    new Date(at),
  )
}

export function registered(userId: string, at: number): SessionEvent {
  return newEvent({ type: 'user.registered', userId, data: { identifierKind: 'phone' } }, new Date(at))
}
