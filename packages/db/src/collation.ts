import { type Kysely, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: works on whatever schema the caller has
type AnyDb = Kysely<any>

/**
 * The one collation of our text: byte for byte, so `ámina` and `amina`, `Amina` and `amina` are different
 * values (identifiers are normalised once in code, then compared exactly). PAD SPACE, as on MariaDB, MySQL 8
 * and TiDB alike: trailing spaces do not count, which the analytics keys rely on (event-facts.ts `userKey`,
 * migration 004). MySQL 8's `utf8mb4_0900_bin` is binary too but NO PAD, so it is not accepted: on it
 * `'amina '` and `'amina'` would be two rows where the code expects one.
 */
export const BINARY_COLLATION = 'utf8mb4_bin'

export type CollationProblem = { table: string; column: string | null; collation: string }

/**
 * String columns of `tables` (and the tables' own defaults, which columns added later inherit) whose
 * collation is not BINARY_COLLATION. Tables that do not exist are skipped.
 */
export async function nonBinaryColumns(db: AnyDb, tables: readonly string[]): Promise<CollationProblem[]> {
  if (tables.length === 0) return []
  const list = sql.join(tables.map((t) => sql.lit(t)))
  const r = await sql<{ t: string; c: string | null; k: string }>`
    select table_name as t, null as c, table_collation as k from information_schema.tables
      where table_schema = database() and table_name in (${list}) and table_type = 'BASE TABLE'
      and table_collation <> ${BINARY_COLLATION}
    union all
    select table_name, column_name, collation_name from information_schema.columns
      where table_schema = database() and table_name in (${list})
      and collation_name is not null and collation_name <> ${BINARY_COLLATION}
    order by 1, 2`.execute(db)
  return r.rows.map((p) => ({ table: p.t, column: p.c, collation: p.k }))
}

/**
 * Converts each of `tables` that is not binary throughout (a database created with the server's default
 * collation) to utf8mb4 / BINARY_COLLATION, and makes that the database's default for tables created later.
 * Converting only narrows equality (values equal byte for byte were equal before), so no unique key can
 * break. Rebuilds only the tables that need it: on a database already binary this reads the catalogue and
 * changes nothing. Returns the tables it converted.
 */
export async function convertToBinary(db: AnyDb, tables: readonly string[]): Promise<string[]> {
  const schema = await sql<{ name: string; collation: string }>`select schema_name as name,
    default_collation_name as collation from information_schema.schemata where schema_name = database()`.execute(
    db,
  )
  const { name, collation } = schema.rows[0]!
  if (collation !== BINARY_COLLATION)
    await sql`alter database ${sql.id(name)} character set utf8mb4 collate ${sql.raw(BINARY_COLLATION)}`.execute(
      db,
    )
  const convert = [...new Set((await nonBinaryColumns(db, tables)).map((p) => p.table))]
  for (const table of convert)
    await sql`alter table ${sql.table(table)} convert to character set utf8mb4 collate ${sql.raw(BINARY_COLLATION)}`.execute(
      db,
    )
  return convert
}

/** The start-up refusal: names every offending column (or table default) and its collation, on one line. */
export class SchemaCollationError extends Error {
  override name = 'SchemaCollationError'
  readonly problems: CollationProblem[]
  constructor(problems: CollationProblem[]) {
    const list = problems
      .map((p) => `${p.table}${p.column === null ? ' (table default)' : `.${p.column}`} is ${p.collation}`)
      .join(', ')
    super(
      `database schema is not binary (${BINARY_COLLATION}), text would compare case- or accent-insensitively: ` +
        `${list}. Run the migrations (MIGRATE_ON_START or the migrate command) or convert these columns.`,
    )
    this.problems = problems
  }
}

/** Throws SchemaCollationError unless every string column of `tables` is BINARY_COLLATION. */
export async function assertBinarySchema(db: AnyDb, tables: readonly string[]): Promise<void> {
  const problems = await nonBinaryColumns(db, tables)
  if (problems.length > 0) throw new SchemaCollationError(problems)
}
