/** Collects what the manifest check looked at and what it found wrong, and prints both at the end. */
export class Report {
  #problems: string[] = []
  #counts = new Map<string, number>()

  problem(where: string, message: string): void {
    this.#problems.push(`${where}: ${message}`)
  }

  /** Counts one thing checked under `label` (printed as "label: n"). */
  count(label: string, n = 1): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + n)
  }

  get problems(): readonly string[] {
    return this.#problems
  }

  /** Prints the counts and the problems; returns the exit code. */
  print(out: (line: string) => void = console.log): number {
    out('check-manifests: checked')
    for (const [label, n] of this.#counts) out(`  ${String(n).padStart(4)}  ${label}`)
    if (this.#problems.length === 0) {
      out('check-manifests: no problems')
      return 0
    }
    out(`check-manifests: ${this.#problems.length} problem(s)`)
    for (const p of this.#problems) out(`  - ${p}`)
    return 1
  }
}

// Plain accessors for parsed YAML, which is `unknown` all the way down.
export type Obj = Record<string, unknown>

export function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}
