// `pnpm cli <command>`: administration of the token service against DATABASE_URL (and REDIS_URL).
import { randomBytes } from 'node:crypto'
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'
import { ConfigError, startupFailure } from '@africhain/config'
import { createDb, ensureDatabase, migrateDown, migrateToLatest } from '@africhain/db'
import { ACCOUNT_USAGE, CliFailure, runAccountCommand } from './cli-accounts.ts'
import { withDb } from './cli-db.ts'
import { KEY_USAGE, runKeyCommand } from './cli-keys.ts'
import { passesPasswordOnArgv, readPassword } from './cli-prompt.ts'
import { loadTokenConfig, type TokenConfig } from './config.ts'
import { DomainError } from './domain/errors.ts'
import { normaliseIdentifier } from './domain/identifier.ts'
import { register } from './domain/use-cases/register.ts'
import { hashClientSecret } from './routes/introspect.ts'
import { MIGRATION_TABLE, tokenMigrations } from './storage/migrations/index.ts'
import type { TokenDatabase } from './storage/tables.ts'
import { userRepository } from './storage/user.repository.ts'

const ROLES = ['user', 'security', 'admin']
const USAGE = `usage: pnpm cli <command>
  migrate [--down]                                   create the database and run migrations (or undo the last)
  user:create --identifier <id> [--role <role>]... [--display-name <name>]
                                                     the password is asked at a hidden prompt, or read
                                                     from the first line of standard input when piped
  user:grant-role <identifier> <role>                roles: ${ROLES.join(', ')}
${ACCOUNT_USAGE}
${KEY_USAGE}
  client:create <client-id>                          a new introspection client secret and its INTROSPECTION_CLIENTS entry

Passwords are never taken on the command line (shell history, process lists): --password is refused.`

const PASSWORD_ON_ARGV =
  'passwords are never taken on the command line (they end up in shell history and process lists): ' +
  'drop --password and type it at the prompt, or pipe it: printf \'%s\\n\' "$PASSWORD" | pnpm cli user:create …'

function fail(message: string): never {
  console.error(message)
  process.exit(1)
}

/** parseArgs, with a usage message instead of a stack trace (and never an argument's value echoed back). */
function options<T extends ParseArgsOptionsConfig>(args: string[], config: T) {
  try {
    return parseArgs({ args, options: config }).values
  } catch {
    fail(`unknown or malformed arguments\n${USAGE}`)
  }
}

async function main(argv: string[]) {
  const [command, ...rest] = argv
  let config: TokenConfig
  try {
    config = loadTokenConfig()
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : (err as Error).message)
  }
  switch (command) {
    case 'migrate': {
      const values = options(rest, { down: { type: 'boolean' } })
      await ensureDatabase(config.DATABASE_URL)
      const db = createDb<TokenDatabase>({ url: config.DATABASE_URL, connectionLimit: 1 })
      try {
        const result = values.down
          ? await migrateDown(db, tokenMigrations, MIGRATION_TABLE)
          : await migrateToLatest(db, tokenMigrations, MIGRATION_TABLE)
        for (const r of result.results ?? []) console.log(`${r.direction} ${r.migrationName}: ${r.status}`)
        if ((result.results ?? []).length === 0) console.log('nothing to do')
      } finally {
        await db.destroy()
      }
      return
    }
    case 'user:create': {
      if (passesPasswordOnArgv(rest)) fail(PASSWORD_ON_ARGV)
      const values = options(rest, {
        identifier: { type: 'string' },
        role: { type: 'string', multiple: true },
        'display-name': { type: 'string' },
      })
      const id = normaliseIdentifier(values.identifier ?? '')
      if (!id) fail('--identifier must be an E.164 phone number or an email address')
      const roles = [...new Set(['user', ...(values.role ?? [])])]
      for (const r of roles) if (!ROLES.includes(r)) fail(`unknown role "${r}" (roles: ${ROLES.join(', ')})`)
      const password = await readPassword(`password for ${id.value}`, { confirm: true }).catch((err: Error) =>
        fail(`no password read: ${err.message}`),
      )
      if (password.length < 8 || password.length > 128) fail('the password must be 8 to 128 characters')
      await withDb(config, async (db) => {
        // The registration use case, as POST /auth/register runs it (roles given by the operator).
        const deps = { users: userRepository(db), policy: { passwordCost: config.PASSWORD_HASH_COST } }
        const displayName = values['display-name']
        const input = {
          identifier: id.value,
          password,
          roles,
          ...(displayName !== undefined ? { displayName } : {}),
        }
        const created = await register(deps, input, { ip: '', userAgent: null }).catch((err: unknown) => {
          if (err instanceof DomainError && err.code === 'IDENTIFIER_TAKEN')
            fail(`identifier ${id.value} is already registered`)
          throw err
        })
        console.log(JSON.stringify(created))
      })
      return
    }
    case 'user:grant-role': {
      const [identifier, role] = rest
      const id = normaliseIdentifier(identifier ?? '')
      if (!id || !role) fail('usage: pnpm cli user:grant-role <identifier> <role>')
      if (!ROLES.includes(role)) fail(`unknown role "${role}" (roles: ${ROLES.join(', ')})`)
      await withDb(config, async (db) => {
        const users = userRepository(db)
        const user = await users.findByIdentifier(id.value)
        if (!user) fail(`no user ${id.value}`)
        const roles = [...new Set([...user.roles, role])]
        await users.setRoles(user.id, roles)
        // Roles are read at every refresh: the new role is in the user's next access token.
        console.log(JSON.stringify({ userId: user.id, roles }))
      })
      return
    }
    case 'keys:rotate':
    case 'keys:list':
      try {
        await runKeyCommand(command, config)
      } catch (err) {
        if (err instanceof CliFailure) fail(err.message)
        throw err
      }
      return
    case 'client:create': {
      const [clientId] = rest
      if (!clientId || !/^[\w.-]{1,64}$/.test(clientId)) fail('usage: pnpm cli client:create <client-id>')
      const secret = randomBytes(32).toString('base64url')
      console.log(`client secret (shown once, give it to the client): ${secret}`)
      console.log(`add to INTROSPECTION_CLIENTS: ${clientId}:${hashClientSecret(secret)}`)
      return
    }
    default:
      // The account commands (cli-accounts.ts) run the admin routes' use cases.
      if (passesPasswordOnArgv(rest)) fail(PASSWORD_ON_ARGV)
      try {
        if (await runAccountCommand(command ?? '', rest, config)) return
      } catch (err) {
        if (err instanceof CliFailure) fail(err.message)
        throw err
      }
      fail(USAGE)
  }
}

// A database that cannot be reached or refuses the login: one line naming it (password masked), no stack.
await main(process.argv.slice(2)).catch((err: unknown) =>
  fail(startupFailure('pnpm cli', err, { databaseUrl: loadTokenConfig().DATABASE_URL })),
)
