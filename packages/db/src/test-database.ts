import { randomBytes } from 'node:crypto'

/**
 * A database URL of its own for one test file: same server as DATABASE_URL (or the local default),
 * a fresh random database name. Tests create it with ensureDatabase and drop it when done.
 */
export function testDatabaseUrl(label: string): string {
  const base = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/africhain')
  const safe = label.replace(/[^A-Za-z0-9]/g, '_').slice(0, 30)
  base.pathname = `/t_${safe}_${randomBytes(4).toString('hex')}`
  return base.toString()
}
