/** The demo's output: a step heading, a table of fields. */
export function step(text: string) {
  console.log(`\n▸ ${text}`)
}

export function table(rows: Record<string, unknown>) {
  for (const [k, v] of Object.entries(rows))
    console.log(`   ${k.padEnd(24)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
}
