import { sqlLiteral } from '@africhain/db'
import { CompiledQuery, type Kysely } from 'kysely'

/**
 * The ingest transaction is written as plain SQL whose every value is a literal escaped by the driver's rules
 * (`sqlLiteral` from @africhain/db; never text from outside as SQL): the query builder's cost per statement,
 * and then the driver's placeholder pass over each megabyte-sized script, were large shares of a batch's CPU.
 * With a `multipleStatements` connection a whole script goes in one round trip; without one, statement by
 * statement.
 */
export type Stmt = { sql: string }
export type Row = Record<string, unknown>

/** `(a, b, …), (…)` for a multi-row VALUES list (joined once: flat strings, not a rope of many pieces). */
export function valuesList(rows: readonly (readonly unknown[])[]): string {
  const tuples = new Array<string>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    let t = `(${sqlLiteral(r[0])}`
    for (let j = 1; j < r.length; j++) t += `, ${sqlLiteral(r[j])}`
    tuples[i] = `${t})`
  }
  return tuples.join(', ')
}

/** `(a, b, …)` for an IN list. */
export function inList(values: readonly unknown[]): string {
  return `(${values.map(sqlLiteral).join(', ')})`
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
      const r = await conn.executeQuery(CompiledQuery.raw(s.sql, []))
      out.rows.push(r.rows as Row[])
      out.affected.push(Number(r.numAffectedRows ?? 0))
    }
    return out
  }
  const result = await conn.executeQuery(CompiledQuery.raw(stmts.map((s) => s.sql).join(';\n'), []))
  for (const r of result.rows as unknown[]) {
    out.rows.push(Array.isArray(r) ? (r as Row[]) : [])
    out.affected.push(Array.isArray(r) ? 0 : Number((r as { affectedRows?: number }).affectedRows ?? 0))
  }
  return out
}
