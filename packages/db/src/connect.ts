import { Kysely, MysqlDialect } from 'kysely'
import mysql, { createPool, type Pool, type PoolConnection } from 'mysql2'

export type DbOptions = {
  url: string
  /** Pool size; MariaDB here peaks at 8–32 concurrent connections. */
  connectionLimit?: number
  /** A connection attempt gives up after this long, so an outage answers 503 quickly. */
  connectTimeoutMs?: number
  /**
   * Lets one round trip carry several statements (a whole short transaction). Only for pools whose every
   * query is built with bound parameters or `sqlLiteral`; never for one that runs text from outside.
   *
   * The token rotation keeps it: MySQL and MariaDB have no single statement that updates one table and
   * inserts into two others, a stored procedure is out (TiDB has none), and mysql2 does not pipeline
   * separate statements, so without it the rotation (the hot path of every refresh) costs five round trips
   * instead of one. What makes it safe is the pinned session below: the client-side escaping every statement
   * relies on is then the escaping the server applies, so no value can end its string literal.
   */
  multipleStatements?: boolean
  /**
   * READ COMMITTED for this pool's transactions instead of the server's REPEATABLE READ. For a pool whose
   * writes read other tables inside their statements (the token rotation checks the user's roles in its
   * UPDATE): under REPEATABLE READ such a read takes a shared lock on the row it reads, which then waits for,
   * and makes wait, every writer of that row until the transaction ends. A write's own rows are locked the
   * same way under both.
   */
  readCommitted?: boolean
}

/**
 * The SQL mode every connection runs in, whatever the server's global one. Client-side escaping (mysql2's
 * `format`, `sqlLiteral`) writes `\'` and `\\`, which is only right without NO_BACKSLASH_ESCAPES: under it
 * a quote ends the string and, on a `multipleStatements` pool, what follows runs as SQL. Strict (values too
 * long for their column are errors, not silent truncation), and no mode that changes how our SQL parses
 * (ANSI_QUOTES, PIPES_AS_CONCAT) or that MySQL 8 / TiDB lack (NO_AUTO_CREATE_USER). No ONLY_FULL_GROUP_BY:
 * MariaDB's version of it rejects queries MySQL 8 accepts.
 */
export const SESSION_SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'

/**
 * One statement, the first on every new connection of every pool: the SQL mode above; utf8mb4 text compared
 * byte for byte (a client charset such as GBK or SJIS would also break backslash escaping); UTC for NOW()
 * and friends (the driver writes dates in UTC, `timezone: 'Z'`); autocommit on, which every write outside
 * a transaction relies on. Session state lasts as long as the connection: mysql2 never resets a pooled
 * connection (`resetOnRelease` stays off) nor reconnects one.
 */
export const PIN_SESSION =
  `SET SESSION sql_mode = '${SESSION_SQL_MODE}', NAMES utf8mb4 COLLATE utf8mb4_bin, ` +
  `SESSION time_zone = '+00:00', SESSION autocommit = 1`

/**
 * Every connection the pool hands out, to kysely or to `pool.query`, has run PIN_SESSION first: the pool's
 * own getConnection (which `query` and queued waiters also go through) runs it on a connection it has not
 * seen yet before passing it on. A connection whose pin fails is destroyed and the caller gets the error:
 * it is never used unpinned, and the pool opens a fresh one next time.
 */
function pinSessions(pool: Pool, readCommitted: boolean): Pool {
  // Its own statement: SET cannot list transaction characteristics beside variables.
  const statements = readCommitted
    ? [PIN_SESSION, 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED']
    : [PIN_SESSION]
  const pinned = new WeakSet<PoolConnection>()
  const getConnection = pool.getConnection.bind(pool)
  pool.getConnection = ((cb: (err: NodeJS.ErrnoException | null, conn: PoolConnection) => void) =>
    getConnection((err, conn) => {
      if (err || pinned.has(conn)) return cb(err, conn)
      const next = (i: number) => {
        if (i === statements.length) {
          pinned.add(conn)
          return cb(null, conn)
        }
        conn.query(statements[i]!, (pinErr: Error | null) => {
          if (!pinErr) return next(i + 1)
          conn.destroy()
          cb(pinErr, undefined as never)
        })
      }
      next(0)
    })) as Pool['getConnection']
  return pool
}

function poolFor(opts: DbOptions): Pool {
  const url = new URL(opts.url)
  return pinSessions(
    createPool({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password),
      database: url.pathname.replace(/^\//, '') || undefined,
      connectionLimit: opts.connectionLimit ?? 16,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      // Requests never wait forever for a pooled connection while the database is away.
      queueLimit: 1000,
      // The handshake already asks for what PIN_SESSION sets (a server may ignore it; the pin may not be).
      charset: 'UTF8MB4_BIN',
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
    }),
    opts.readCommitted === true,
  )
}

/** A kysely instance on a mysql2 pool (MySQL 8, MariaDB 10.11, TiDB). */
export function createDb<DB>(opts: DbOptions): Kysely<DB> {
  return new Kysely<DB>({ dialect: new MysqlDialect({ pool: async () => poolFor(opts) }) })
}

/**
 * Creates the URL's database when missing (the quick start and every test file start from nothing), as an
 * operator would: utf8mb4 with the server's default collation (`utf8mb4_general_ci` on MariaDB, which folds
 * case and accents). The migrations pin every table binary themselves, so every test run goes through that
 * conversion and the start-up check, not only the hostile-server run.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const parsed = new URL(url)
  const name = parsed.pathname.replace(/^\//, '')
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name))
    throw new Error(`DATABASE_URL: database name "${name}" is not a plain identifier`)
  parsed.pathname = '/'
  const pool = poolFor({ url: parsed.toString(), connectionLimit: 1 })
  try {
    await pool.promise().query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4`)
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
