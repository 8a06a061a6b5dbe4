/**
 * The message of a 400 VALIDATION_FAILED, built from ajv's error objects so a person can act on it: each
 * failing field by name (`body.device.platform`), and what it allows (`must be one of web, ios, …`). It is
 * built from the schema side of each error only (keyword, params, the path of the field), never from the
 * value that failed, so nothing a client sent (a password, a token) comes back. The one piece of the
 * request it names is an unknown field's name, and only when it looks like a field name.
 */

/** The parts of an ajv `ErrorObject` read here (ajv is Fastify's, not a dependency of this package). */
export type SchemaError = {
  instancePath: string
  schemaPath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
}

/** At most this many problems are spelled out (with `allErrors`, one body can fail thousands of times). */
const MAX_PROBLEMS = 8
const MAX_NAMES = 5
const MAX_LENGTH = 600
const FIELD_NAME = /^[A-Za-z_$][\w$-]{0,63}$/
const TOKEN_LIKE = /^(eyJ|rt_)/

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  object: 'a JSON object',
  array: 'an array',
  null: 'null',
}

/** `/device/platform` under `body` → `body.device.platform`; `/items/0` → `body.items[0]`. */
function fieldOf(root: string, instancePath: string): string {
  if (instancePath === '') return root
  let out = root
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (/^\d+$/.test(segment)) out += `[${segment}]`
    else if (FIELD_NAME.test(segment)) out += `.${segment}`
    else out += `[${JSON.stringify(segment.slice(0, 64))}]`
  }
  return out
}

const list = (values: unknown[]) =>
  values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')

/** What one ajv error says the field must be (the field itself excluded), from the schema side only. */
function rule(e: SchemaError): string {
  const p = e.params
  switch (e.keyword) {
    case 'enum':
      return `must be one of ${list(p.allowedValues as unknown[])}`
    case 'const':
      return `must be ${list([p.allowedValue])}`
    case 'type':
      return `must be ${String(p.type)
        .split(',')
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(' or ')}`
    case 'minLength':
      return `must be at least ${p.limit} character${p.limit === 1 ? '' : 's'} long`
    case 'maxLength':
      return `must be at most ${p.limit} characters long`
    case 'minimum':
      return `must be at least ${p.limit}`
    case 'maximum':
      return `must be at most ${p.limit}`
    case 'exclusiveMinimum':
      return `must be greater than ${p.limit}`
    case 'exclusiveMaximum':
      return `must be less than ${p.limit}`
    case 'minItems':
      return `must have at least ${p.limit} items`
    case 'maxItems':
      return `must have at most ${p.limit} items`
    case 'format':
      return `must be a valid ${p.format}`
    case 'pattern':
      return `must match the pattern ${p.pattern}`
    default:
      // ajv's own messages are built from the schema too ("must match a schema in anyOf").
      return e.message ?? 'is not valid'
  }
}

/**
 * A union (`anyOf`/`oneOf`) reports the failures of every branch. Keep the branch that got furthest into
 * the value (the one whose type matched): `{ keepCurrent: "yes" }` against `object | null` is about
 * `keepCurrent`, not "must be null". When every branch failed at the union's own level on a type, a `const`
 * or an `enum`, the branches are merged into one "must be one of …" / "must be X or Y".
 */
function resolveUnions(errors: SchemaError[]): SchemaError[] {
  let out = errors
  for (;;) {
    const union = out.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    if (!union) return out
    const prefix = `${union.schemaPath}/`
    const branches = new Map<string, SchemaError[]>()
    for (const e of out) {
      if (!e.schemaPath.startsWith(prefix)) continue
      const branch = e.schemaPath.slice(prefix.length).split('/')[0]!
      branches.set(branch, [...(branches.get(branch) ?? []), e])
    }
    const members = [...branches.values()].flat()
    const taken = new Set<SchemaError>([union, ...members])
    const rest = out.filter((e) => !taken.has(e))
    const shallow = members.every(
      (e) => e.instancePath === union.instancePath && ['type', 'const', 'enum'].includes(e.keyword),
    )
    let chosen: SchemaError[]
    if (members.length === 0) chosen = [union]
    else if (shallow) {
      // Per branch: the values it allows (a `const` or `enum`, its `type` error then says nothing more),
      // or else its type. `"a" | "b"` → must be one of a, b; `object | null` → must be a JSON object or null.
      const values: unknown[] = []
      const types: string[] = []
      for (const branch of branches.values()) {
        const allowed = branch.flatMap((e) =>
          e.keyword === 'enum'
            ? (e.params.allowedValues as unknown[])
            : e.keyword === 'const'
              ? [e.params.allowedValue]
              : [],
        )
        if (allowed.length > 0) values.push(...allowed)
        else types.push(...branch.map((e) => String(e.params.type)))
      }
      chosen =
        types.length === 0
          ? [{ ...union, keyword: 'enum', params: { allowedValues: [...new Set(values)] } }]
          : [
              {
                ...union,
                keyword: 'type',
                params: { type: [...new Set([...types, ...values.map((v) => list([v]))])].join(',') },
              },
            ]
    } else {
      const depth = (es: SchemaError[]) => Math.max(...es.map((e) => e.instancePath.split('/').length))
      chosen = [...branches.values()].reduce((a, b) => (depth(b) > depth(a) ? b : a))
    }
    out = [...rest, ...chosen]
  }
}

/** One sentence per failing field, in the order ajv found them; `root` is `body`, `querystring`, `params`… */
export function validationMessage(errors: readonly SchemaError[], root: string): string {
  const problems = new Map<string, string>()
  const unknown = new Map<string, { names: string[]; hidden: number }>()
  for (const e of resolveUnions([...errors])) {
    const field = fieldOf(root, e.instancePath)
    if (e.keyword === 'additionalProperties') {
      const entry = unknown.get(field) ?? { names: [], hidden: 0 }
      const name = String(e.params.additionalProperty)
      if (FIELD_NAME.test(name) && !TOKEN_LIKE.test(name)) entry.names.push(name)
      else entry.hidden++
      unknown.set(field, entry)
      problems.set(`${field} unknown`, '')
    } else if (e.keyword === 'required') {
      problems.set(`${fieldOf(root, e.instancePath)}.${String(e.params.missingProperty)}`, 'is required')
    } else {
      const said = problems.get(field)
      const sentence = rule(e)
      problems.set(field, said && !said.includes(sentence) ? `${said} and ${sentence}` : sentence)
    }
  }
  const sentences: string[] = []
  for (const [field, sentence] of problems) {
    if (field.endsWith(' unknown')) {
      const at = field.slice(0, -' unknown'.length)
      const { names, hidden } = unknown.get(at)!
      const shown = names.slice(0, MAX_NAMES).map((n) => `"${n}"`)
      const more = names.length - shown.length + hidden
      const count = names.length + hidden
      const what =
        shown.length === 0
          ? `${count === 1 ? 'an' : count} unknown field${count === 1 ? '' : 's'}`
          : `${count === 1 ? 'an unknown field' : 'unknown fields'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`
      sentences.push(`${at} has ${what}`)
    } else sentences.push(`${field} ${sentence}`)
  }
  const shown = sentences.slice(0, MAX_PROBLEMS)
  if (sentences.length > shown.length) shown.push(`${sentences.length - shown.length} more problems`)
  const message = shown.join('; ')
  return message.length > MAX_LENGTH ? `${message.slice(0, MAX_LENGTH)}…` : message
}
