import type { Parser } from './parsers.ts'
import { redactSecrets, SECRET_NAME, scrub, secretsIn } from './redact.ts'

export type Spec = Record<string, Parser<unknown>>
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: ReturnType<S[K]> }

export class ConfigError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Reads every variable of `spec` from `env`, validating all of them before failing so one start-up lists
 * every problem, each naming its variable. Returns a frozen object: nothing else reads process.env.
 * Problems never show a secret: whatever a parser said, the value's password, secret query parameters and
 * the whole value of a secret-named variable are masked here, in one place.
 */
export function loadConfig<S extends Spec>(spec: S, env: Record<string, string | undefined>): ConfigOf<S> {
  const problems: string[] = []
  const out: Record<string, unknown> = {}
  for (const [name, parse] of Object.entries(spec)) {
    try {
      out[name] = parse(env[name])
    } catch (err) {
      const raw = env[name] ?? ''
      const secrets = SECRET_NAME.test(name) && raw !== '' ? [raw] : secretsIn(raw)
      problems.push(`${name}: ${redactSecrets(scrub((err as Error).message, secrets))}`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(out) as ConfigOf<S>
}
