import { Kysely, MysqlDialect } from 'kysely'
import mysql, { createPool, type Pool } from 'mysql2'

export type DbOptions = {
  url: string
  /** Pool size; MariaDB here peaks at 8–32 concurrent connections. */
  connectionLimit?: number
  /** A connection attempt gives up after this long, so an outage answers 503 quickly. */
  connectTimeoutMs?: number
  /**
   * Lets one round trip carry several statements (a whole short transaction). Only for pools whose every
   * query is built with bound parameters; never for one that runs text from outside.
   */
  multipleStatements?: boolean
}

function poolFor(opts: DbOptions): Pool {
  const url = new URL(opts.url)
  return createPool({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, '') || undefined,
    connectionLimit: opts.connectionLimit ?? 16,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    // Requests never wait forever for a pooled connection while the database is away.
    queueLimit: 1000,
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    enableKeepAlive: true,
    multipleStatements: opts.multipleStatements === true,
    // The driver's own placeholder pass, except that SQL without values (bulk statements built from
    // `sqlLiteral`) is sent as it is instead of being scanned for placeholders it cannot contain.
    queryFormat: (sql: string, values: unknown) =>
      Array.isArray(values) && values.length === 0
        ? sql
        : mysql.format(sql, values as Parameters<typeof mysql.format>[1], false, 'Z'),
  })
}

/** A kysely instance on a mysql2 pool (MySQL 8, MariaDB 10.11, TiDB). */
export function createDb<DB>(opts: DbOptions): Kysely<DB> {
  return new Kysely<DB>({ dialect: new MysqlDialect({ pool: async () => poolFor(opts) }) })
}

/** Creates the URL's database when missing (the quick start and every test file start from nothing). */
export async function ensureDatabase(url: string): Promise<void> {
  const parsed = new URL(url)
  const name = parsed.pathname.replace(/^\//, '')
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name))
    throw new Error(`DATABASE_URL: database name "${name}" is not a plain identifier`)
  parsed.pathname = '/'
  const pool = poolFor({ url: parsed.toString(), connectionLimit: 1 })
  try {
    await pool
      .promise()
      .query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  } finally {
    await pool.promise().end()
  }
}

/** Drops the URL's database: test teardown only. */
export async function dropDatabase(url: string): Promise<void> {
  const parsed = new URL(url)
  const name = parsed.pathname.replace(/^\//, '')
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`database name "${name}" is not a plain identifier`)
  parsed.pathname = '/'
  const pool = poolFor({ url: parsed.toString(), connectionLimit: 1 })
  try {
    await pool.promise().query(`DROP DATABASE IF EXISTS \`${name}\``)
  } finally {
    await pool.promise().end()
  }
}
