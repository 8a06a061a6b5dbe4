import { ConfigError } from './load.ts'
import { redactSecrets } from './redact.ts'

/** What a process was starting against, for naming it in the failure line (URLs are masked here). */
export type StartupTargets = { databaseUrl?: string; host?: string; port?: number }

type SystemError = Error & { code?: string; syscall?: string; fatal?: boolean; sqlMessage?: string }

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * The one line an operator sees when `service` cannot start: what failed, against what (credentials
 * masked), and the error code to search for. Never a stack trace: a start-up failure is a fact about the
 * machine (a port taken, a database down, a bad variable), not a bug in the code. A ConfigError keeps its
 * list of every bad variable.
 */
export function startupFailure(service: string, err: unknown, targets: StartupTargets = {}): string {
  if (err instanceof ConfigError) return `${service}: ${err.message}`
  const e = (err instanceof Error ? err : new Error(String(err))) as SystemError
  const code = e.code ?? ''
  if (e.syscall === 'listen') {
    const where = `port ${targets.port} on ${targets.host}`
    if (code === 'EADDRINUSE') return `${service}: ${where} is already in use (another instance running?)`
    if (code === 'EACCES') return `${service}: ${where} needs privileges this process does not have (EACCES)`
    if (code === 'EADDRNOTAVAIL')
      return `${service}: ${targets.host} is not an address of this machine (HOST)`
    return `${service}: cannot listen on ${where} (${code || e.message})`
  }
  const db = targets.databaseUrl ? redactSecrets(targets.databaseUrl) : 'DATABASE_URL'
  if (UNREACHABLE.has(code) || code === 'PROTOCOL_CONNECTION_LOST')
    return `${service}: cannot reach the database at ${db} (${code})`
  if (code.startsWith('ER_ACCESS_DENIED') || code === 'ER_DBACCESS_DENIED_ERROR')
    return `${service}: the database at ${db} refused the login (${code}; check DATABASE_URL's user and password)`
  if (code.startsWith('ER_'))
    return `${service}: the database at ${db} answered ${redactSecrets(e.sqlMessage ?? e.message)} (${code})`
  return `${service}: cannot start: ${redactSecrets(e.message)}${code ? ` (${code})` : ''}`
}
