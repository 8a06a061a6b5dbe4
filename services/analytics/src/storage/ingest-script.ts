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

/** Per statement: its rows (`[]` for a write) and its affected-row count (0 for a read). */
export type ScriptResult = { rows: Row[][]; affected: number[] }

/**
 * Runs statements on one connection, in order. A failing statement stops the script and rejects (MySQL
 * runs none of the later ones).
 */
export async function runScript(
  conn: Kysely<unknown>,
  stmts: readonly Stmt[],
  multi: boolean,
): Promise<ScriptResult> {
  const out: ScriptResult = { rows: [], affected: [] }
  if (stmts.length === 0) return out
  if (!multi || stmts.length === 1) {
    for (const s of stmts) {
      const r = await conn.executeQuery(CompiledQuery.raw(s.sql, s.params))
      out.rows.push(r.rows as Row[])
      out.affected.push(Number(r.numAffectedRows ?? 0))
    }
    return out
  }
  const params: unknown[] = []
  for (const s of stmts) for (const p of s.params) params.push(p)
  const result = await conn.executeQuery(CompiledQuery.raw(stmts.map((s) => s.sql).join(';\n'), params))
  for (const r of result.rows as unknown[]) {
    out.rows.push(Array.isArray(r) ? (r as Row[]) : [])
    out.affected.push(Array.isArray(r) ? 0 : Number((r as { affectedRows?: number }).affectedRows ?? 0))
  }
  return out
}
