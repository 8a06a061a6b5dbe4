import { CompiledQuery, type Kysely } from 'kysely'

/**
 * The ingest transaction is written as plain SQL with bound parameters (`?`, escaped by the driver, never
 * text from outside): the query builder's cost per statement was a large share of a batch's CPU. With a
 * `multipleStatements` connection a whole script goes in one round trip; without one, statement by statement.
 */
export type Stmt = { sql: string; params: unknown[] }
export type Row = Record<string, unknown>

/** `(?, ?, …)` tuples for a multi-row VALUES list, and their flattened parameters. */
export function valuesList(rows: readonly (readonly unknown[])[]): Stmt {
  const width = rows[0]?.length ?? 0
  const tuple = `(${Array.from({ length: width }, () => '?').join(', ')})`
  const params: unknown[] = []
  for (const r of rows) for (const v of r) params.push(v)
  return { sql: Array.from({ length: rows.length }, () => tuple).join(', '), params }
}

export function inList(values: readonly unknown[]): Stmt {
  return { sql: `(${values.map(() => '?').join(', ')})`, params: [...values] }
}

/**
 * Runs statements on one connection, in order; returns each statement's rows (`[]` for a write). A failing
 * statement stops the script and rejects (MySQL runs none of the later ones).
 */
export async function runScript(
  conn: Kysely<unknown>,
  stmts: readonly Stmt[],
  multi: boolean,
): Promise<Row[][]> {
  if (stmts.length === 0) return []
  if (!multi || stmts.length === 1) {
    const out: Row[][] = []
    for (const s of stmts)
      out.push((await conn.executeQuery(CompiledQuery.raw(s.sql, s.params))).rows as Row[])
    return out
  }
  const params: unknown[] = []
  for (const s of stmts) for (const p of s.params) params.push(p)
  const result = await conn.executeQuery(CompiledQuery.raw(stmts.map((s) => s.sql).join(';\n'), params))
  return (result.rows as unknown[]).map((r) => (Array.isArray(r) ? (r as Row[]) : []))
}
