import type { Caller, RequestContext } from '../context.ts'
import { dummyHash } from '../password.ts'
import type { Device } from '../ports.ts'
import type { SessionDeps } from './deps.ts'
import { listSessions } from './list-sessions.ts'
import { type LoginInput, login } from './login.ts'
import { type Registration, register } from './register.ts'
import { resolveUnknownSession } from './resolve-unknown-session.ts'
import { logout, logoutAll, revokeForRiskAlert, revokeOwnSession } from './revoke-sessions.ts'
import { rotateRefreshToken } from './rotate-refresh-token.ts'

export type SessionUseCases = ReturnType<typeof sessionUseCases>

/**
 * The session use cases bound to their ports, as the routes, the risk loop and the verifier call them.
 * Each rule lives in its own file (register, login, rotate-refresh-token, revoke-sessions, ...).
 */
export function sessionUseCases(deps: Omit<SessionDeps, 'now'> & { now?: () => Date }) {
  const d: SessionDeps = { ...deps, now: deps.now ?? (() => new Date()) }
  const withDummy = { ...d, dummyHash: dummyHash(d.policy.passwordCost) }
  return {
    register: (input: Registration, ctx: RequestContext) => register(d, input, ctx),
    login: (input: LoginInput, ctx: RequestContext) => login(withDummy, input, ctx),
    refresh: (token: string, device: Device | undefined, ctx: RequestContext) =>
      rotateRefreshToken(d, token, device, ctx),
    logout: (caller: Caller, ctx: RequestContext) => logout(d, caller, ctx),
    revokeSession: (caller: Caller, sessionId: string, ctx: RequestContext) =>
      revokeOwnSession(d, caller, sessionId, ctx),
    logoutAll: (caller: Caller, keepCurrent: boolean, ctx: RequestContext) =>
      logoutAll(d, caller, keepCurrent, ctx),
    /** Every live session of a user, once per risk alert; administrators go through account-admin.ts. */
    revokeForAlert: (alertId: string, userId: string, ctx: RequestContext) =>
      revokeForRiskAlert(d, alertId, userId, ctx),
    list: (caller: Caller) => listSessions(d, caller),
    resolveUnknown: (sessionId: string, sub: string) => resolveUnknownSession(d, sessionId, sub),
  }
}
