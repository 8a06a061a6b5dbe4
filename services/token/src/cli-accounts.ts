// The account commands of `pnpm cli`: the same use cases as the admin routes (domain/use-cases/account-admin.ts,
// password-change.ts), on the same stores, with `cli` as the actor of their events.
import { createRedisClient } from '@africhain/bus'
import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import { readPassword } from './cli-prompt.ts'
import type { TokenConfig } from './config.ts'
import { normaliseIdentifier } from './domain/identifier.ts'
import type { UserProfile } from './domain/use-cases/account-admin.ts'
import { type AccountServices, accountServices } from './plugins/account-services.ts'
import { refusalMessage } from './routes/domain-errors.ts'
import { MIGRATION_TABLE, tokenMigrations } from './storage/migrations/index.ts'
import { deploymentKeys, readDeploymentId } from './storage/redis-keys.ts'
import { hotSessionState } from './storage/redis-state.ts'
import { sessionRepository } from './storage/session.repository.ts'
import type { TokenDatabase } from './storage/tables.ts'
import { userRepository } from './storage/user.repository.ts'

export const ACCOUNT_USAGE = `  user:list                                          every user: identifier, id, roles, created, disabled
  user:show <identifier>                             the user's profile (locked, disabled) and active sessions
  user:unlock <identifier>                           lift the login lock after too many failed passwords
  user:set-password <identifier>                     new password (prompt or standard input, as user:create);
                                                     every session of the user is revoked
  user:disable <identifier>                          refuse login and refresh, revoke every session
  user:enable <identifier>                           allow login again`

/** The actor of every event the CLI causes: an operator at a shell, not a user of the service. */
const ACTOR = { actorId: 'cli' }
const CTX = { ip: '', userAgent: 'pnpm cli' }

export class CliFailure extends Error {}

type Context = AccountServices

/** Runs `command` if it is an account command (true), else leaves it to the caller (false). */
export async function runAccountCommand(command: string, args: string[], config: TokenConfig) {
  const run = COMMANDS[command]
  if (!run) return false
  const [identifier, ...extra] = args
  const id = normaliseIdentifier(identifier ?? '')
  if (command !== 'user:list' && (!id || extra.length > 0))
    throw new CliFailure(
      `usage: pnpm cli ${command} <identifier> (an E.164 phone number or an email address)`,
    )
  if (command === 'user:list' && args.length > 0) throw new CliFailure('usage: pnpm cli user:list')
  // Asked before any connection is opened: a mistyped password costs no round trip.
  const password = command === 'user:set-password' ? await newPassword(id!.value) : undefined
  await withAccounts(config, async (ctx) => {
    const userId = id ? await findUserId(ctx, id.value) : ''
    try {
      await run(ctx, userId, password ?? '')
    } catch (err) {
      // The use cases' refusals (a user deleted meanwhile) are answers, not crashes.
      const refusal = refusalMessage(err)
      if (refusal !== undefined) throw new CliFailure(refusal)
      throw err
    }
  })
  return true
}

const print = (value: unknown) => console.log(JSON.stringify(value))

const COMMANDS: Record<string, (ctx: Context, userId: string, password: string) => Promise<void>> = {
  'user:list': async ({ accounts }) => {
    for (const u of await accounts.list())
      print({
        identifier: u.identifier,
        userId: u.userId,
        roles: u.roles,
        createdAt: u.createdAt,
        disabled: u.disabled,
      })
  },
  'user:show': async ({ accounts }, userId) => print(await accounts.profile(userId, ACTOR)),
  'user:unlock': async ({ accounts }, userId) => {
    await accounts.unlock(userId, ACTOR, CTX)
    print({ userId, locked: false })
  },
  'user:set-password': async ({ passwords }, userId, password) => {
    const revoked = await passwords.set(userId, password, ACTOR.actorId, CTX)
    print({ userId, passwordChanged: true, revokedSessions: revoked })
  },
  'user:disable': async ({ accounts }, userId) => {
    await accounts.disable(userId, ACTOR, CTX)
    print({ userId, disabled: true })
  },
  'user:enable': async ({ accounts }, userId) => {
    await accounts.enable(userId, ACTOR, CTX)
    print({ userId, disabled: false })
  },
}

async function newPassword(identifier: string): Promise<string> {
  const password = await readPassword(`new password for ${identifier}`, { confirm: true }).catch(
    (err: Error) => {
      throw new CliFailure(`no password read: ${err.message}`)
    },
  )
  if (password.length < 8 || password.length > 128)
    throw new CliFailure('the password must be 8 to 128 characters')
  return password
}

async function findUserId(ctx: Context, identifier: string): Promise<string> {
  const found: UserProfile[] = await ctx.accounts.findByIdentifier(identifier)
  if (!found[0]) throw new CliFailure(`no user ${identifier}`)
  return found[0].userId
}

/** The database (migrated, as every command does) and Redis (lock keys, tombstones), closed afterwards. */
async function withAccounts(config: TokenConfig, fn: (ctx: Context) => Promise<void>): Promise<void> {
  await ensureDatabase(config.DATABASE_URL)
  const db = createDb<TokenDatabase>({ url: config.DATABASE_URL, connectionLimit: 2 })
  const redis = createRedisClient({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    keyPrefix: config.REDIS_KEY_PREFIX,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  })
  redis.on('error', () => {}) // the failed command reports it
  try {
    await migrateToLatest(db, tokenMigrations, MIGRATION_TABLE)
    await redis.connect()
    const redisKeys = deploymentKeys(await readDeploymentId(db))
    // No relay here: the outbox rows wait for the service's relay, which polls.
    const users = userRepository(db)
    const sessions = sessionRepository(db, () => {}, db)
    const services = accountServices({
      config,
      redis,
      redisKeys,
      users,
      sessions,
      hot: hotSessionState(redis),
    })
    await fn(services)
  } finally {
    await redis.quit().catch(() => redis.disconnect())
    await db.destroy()
  }
}
