import type { Caller } from '../context.ts'
import type { SessionStore } from '../ports.ts'
import { type SessionView, toSessionView } from '../session-view.ts'

/** The caller's active sessions (revoked and expired ones left out); `current` marks the one asking. */
export async function listSessions(
  d: { sessions: SessionStore; now: () => Date },
  caller: Caller,
): Promise<SessionView[]> {
  const sessions = await d.sessions.listActive(caller.userId, d.now())
  return sessions.map((s) => toSessionView(s, caller.sessionId))
}
