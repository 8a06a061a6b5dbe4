import type { RedisClient } from '@africhain/bus'
import type { TokenConfig } from '../config.ts'
import type { HotSessionState, SessionStore, UserStore } from '../domain/ports.ts'
import { AccountAdmin } from '../domain/use-cases/account-admin.ts'
import type { SessionObserver } from '../domain/use-cases/deps.ts'
import { PasswordChange } from '../domain/use-cases/password-change.ts'
import type { DeploymentKeys } from '../storage/redis-keys.ts'
import { loginGuard } from '../storage/redis-state.ts'

export type AccountServices = { accounts: AccountAdmin; passwords: PasswordChange }

/** The login lock as configured: the one logins, password changes and unlocks count and clear. */
export function configuredLoginGuard(config: TokenConfig, redis: RedisClient, redisKeys: DeploymentKeys) {
  return loginGuard(redis, redisKeys, {
    threshold: config.LOGIN_LOCK_THRESHOLD,
    windowSeconds: config.LOGIN_LOCK_WINDOW,
    lockSeconds: config.LOGIN_LOCK_WINDOW,
  })
}

/**
 * The account use cases on their adapters. The server (plugins/use-cases.ts) and the admin CLI both build
 * them here, so an operator's `pnpm cli user:disable` runs exactly the rule the admin route runs.
 */
export function accountServices(deps: {
  config: TokenConfig
  redis: RedisClient
  redisKeys: DeploymentKeys
  users: UserStore
  sessions: SessionStore
  hot: HotSessionState
  observe?: Pick<SessionObserver, 'revoked'>
}): AccountServices {
  const { config, users, sessions, hot, observe } = deps
  const guard = configuredLoginGuard(config, deps.redis, deps.redisKeys)
  const policy = { accessTtl: config.ACCESS_TOKEN_TTL, passwordCost: config.PASSWORD_HASH_COST }
  return {
    accounts: new AccountAdmin({ users, sessions, hot, guard, policy, ...(observe ? { observe } : {}) }),
    passwords: new PasswordChange({
      users,
      hot,
      guard,
      policy,
      appendEvents: (events) => sessions.appendEvents(events),
      ...(observe ? { observe } : {}),
    }),
  }
}
