import type { SessionRecord } from './ports.ts'

/** A session as the API shows it (docs/api.md `Session`); `current` when it is the caller's own. */
export type SessionView = {
  sessionId: string
  current: boolean
  device: { id?: string; platform: string; name?: string; userAgent?: string }
  ip: string
  createdAt: string
  lastActiveAt: string
  expiresAt: string
}

export function toSessionView(s: SessionRecord, currentSessionId?: string): SessionView {
  return {
    sessionId: s.id,
    current: s.id === currentSessionId,
    device: {
      ...(s.device.id !== undefined ? { id: s.device.id } : {}),
      platform: s.device.platform,
      ...(s.device.name !== undefined ? { name: s.device.name } : {}),
      ...(s.userAgent ? { userAgent: s.userAgent } : {}),
    },
    ip: s.ip,
    createdAt: s.createdAt.toISOString(),
    lastActiveAt: s.lastActiveAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
  }
}
