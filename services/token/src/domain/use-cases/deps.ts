import type { RevokeReason } from '@africhain/events'
import type { AccessTokenSigner, HotSessionState, LoginGuard, SessionStore, UserStore } from '../ports.ts'
import type { RefreshTokenCodec } from '../refresh-token.ts'

export type SessionPolicy = {
  /** All durations in seconds. */
  accessTtl: number
  refreshTtl: number
  refreshLongTtl: number
  reuseGrace: number
  passwordCost: number
}

/** Counters the use cases report to (metrics); optional so the rules stay testable without them. */
export type SessionObserver = {
  refreshed(): void
  reuseDetected(): void
  revoked(reason: RevokeReason, count: number): void
}

/** The ports and policy the session use cases run on (built once by `sessionUseCases`). */
export type SessionDeps = {
  users: UserStore
  sessions: SessionStore
  hot: HotSessionState
  guard: LoginGuard
  signer: AccessTokenSigner
  tokens: RefreshTokenCodec
  policy: SessionPolicy
  observe?: SessionObserver | undefined
  now: () => Date
}

/** What an account use case (administration, password change) takes: some ports, some policy, a clock. */
export type AccountDeps<K extends keyof SessionDeps, P extends keyof SessionPolicy> = Pick<SessionDeps, K> & {
  policy: Pick<SessionPolicy, P>
  observe?: Pick<SessionObserver, 'revoked'>
  now?: () => Date
}
