import type { Session } from '@africhain/contract'
import type { SessionRecord } from './ports.ts'

/** A session as the API shows it (the contract's `Session`); `current` when it is the caller's own. */
export type SessionView = Session

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
