/** One line of the final table. `ratio` is measured ÷ reference (or measured ÷ limit for a ceiling). */
export type BenchResult = {
  name: string
  measured: string
  reference: string
  ratio: number
  /** `>= 0.5` means ratio must be at least 0.5; `<= 1` means at most 1. */
  goal: { op: '>=' | '<='; value: number }
  /** Extra lines printed under the table (latencies, caveats). */
  notes?: string[]
}

export const passes = (r: BenchResult): boolean =>
  Number.isFinite(r.ratio) && (r.goal.op === '>=' ? r.ratio >= r.goal.value : r.ratio <= r.goal.value)

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export function section(title: string): void {
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 76 - title.length))}`)
}

export function printSummary(results: BenchResult[], failures: string[], remarks: string[] = []): void {
  const rows = [
    ['benchmark', 'measured', 'reference', 'ratio', 'goal', 'result'],
    ...results.map((r) => [
      r.name,
      r.measured,
      r.reference,
      Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : 'n/a',
      `${r.goal.op} ${r.goal.value}`,
      passes(r) ? 'PASS' : 'MISS',
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')
  section('summary')
  console.log(line(rows[0]!))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows.slice(1)) console.log(line(row))
  for (const r of results) for (const n of r.notes ?? []) console.log(`  ${r.name}: ${n}`)
  for (const r of remarks) console.log(`  ${r}`)
  for (const f of failures) console.log(`  FAILED TO RUN: ${f}`)
  const missed = results.filter((r) => !passes(r))
  console.log(
    results.length === 0 && failures.length === 0
      ? '\nno goal measured in this table'
      : missed.length === 0 && failures.length === 0
        ? '\nall goals met'
        : `\n${missed.length} goal(s) missed${failures.length ? `, ${failures.length} benchmark(s) failed to run` : ''}` +
          ' (informational: pnpm bench exits 0 anyway)',
  )
}
