import { sqlLiteral } from '@africhain/db'
import { CompiledQuery, type Kysely } from 'kysely'
import type { Database } from './tables.ts'

/**
 * The ingest transaction is rendered as plain SQL whose every value is a literal escaped by the driver's rules
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

/** Named groups of statements, run in key order (insertion order of the object's keys). */
export type Script = Record<string, readonly Stmt[]>

/** Per group, per statement: its rows (`[]` for a write) and its affected-row count (0 for a read). */
export type ScriptResult<S extends Script> = { [K in keyof S]: { rows: Row[][]; affected: number[] } }

/** The statements' results in the order they ran: one per statement. */
async function execute(conn: Kysely<Database>, stmts: readonly Stmt[], multi: boolean) {
  const out: { rows: Row[]; affected: number }[] = []
  if (!multi || stmts.length === 1) {
    for (const s of stmts) {
      const r = await conn.executeQuery(CompiledQuery.raw(s.sql, []))
      out.push({ rows: r.rows as Row[], affected: Number(r.numAffectedRows ?? 0) })
    }
    return out
  }
  const result = await conn.executeQuery(CompiledQuery.raw(stmts.map((s) => s.sql).join(';\n'), []))
  for (const r of result.rows as unknown[])
    out.push(
      Array.isArray(r)
        ? { rows: r as Row[], affected: 0 }
        : { rows: [], affected: Number((r as { affectedRows?: number }).affectedRows ?? 0) },
    )
  return out
}

/**
 * Runs the groups' statements on one connection, in order: in one round trip on a `multipleStatements`
 * connection, else statement by statement. A failing statement stops the script and rejects (MySQL runs
 * none of the later ones). Results come back by group name.
 */
export async function runScript<S extends Script>(
  conn: Kysely<Database>,
  groups: S,
  multi: boolean,
): Promise<ScriptResult<S>> {
  const names = Object.keys(groups) as (keyof S)[]
  const results = await execute(
    conn,
    names.flatMap((n) => groups[n]!),
    multi,
  )
  const out = {} as ScriptResult<S>
  let at = 0
  for (const n of names) {
    const mine = results.slice(at, at + groups[n]!.length)
    at += mine.length
    out[n] = { rows: mine.map((r) => r.rows), affected: mine.map((r) => r.affected) }
  }
  return out
}
