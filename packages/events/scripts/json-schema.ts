/**
 * Writes docs/events.schema.json: the JSON Schema (draft 2020-12) of every message on the event streams,
 * generated from the TypeBox schemas of src/schemas.ts, so consumers in any language validate against
 * exactly what the services publish. Run after changing a schema:
 *
 *   pnpm exec node packages/events/scripts/json-schema.ts
 *
 * packages/events/test/json-schema.test.ts fails while the committed file differs from what this produces.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { RiskAlert, SESSION_EVENT_TYPES, SessionEvent } from '../src/schemas.ts'

/** The envelope version every event carries (`version`); the file is named after it. */
export const ENVELOPE_VERSION = 1

export const SCHEMA_PATH = fileURLToPath(new URL('../../../docs/events.schema.json', import.meta.url))

/** A TypeBox schema as plain JSON: no symbols, no undefined, no TypeBox-internal (`~…`) keys. */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value) => (key.startsWith('~') ? undefined : value))
}

export function eventsJsonSchema(): Record<string, unknown> {
  const eventDefs = Object.fromEntries(
    SESSION_EVENT_TYPES.map((type, i) => [type, plain((SessionEvent.anyOf as unknown[])[i])]),
  )
  for (const type of SESSION_EVENT_TYPES) {
    const def = eventDefs[type] as { properties: { type: { const: string } } }
    if (def.properties.type.const !== type) throw new Error(`SessionEvent variant ${type} out of order`)
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://africhain.example/schemas/events/v${ENVELOPE_VERSION}.json`,
    title: `AfriChain session events, envelope version ${ENVELOPE_VERSION}`,
    description:
      'Generated from packages/events/src/schemas.ts by packages/events/scripts/json-schema.ts; do not edit. ' +
      'A stream entry of EVENTS_STREAM carries one SessionEvent in its `data` field (and its `type` in ' +
      'field `type`); an entry of ALERTS_STREAM carries one RiskAlert. See docs/events.md.',
    'x-envelope-version': ENVELOPE_VERSION,
    'x-event-types': [...SESSION_EVENT_TYPES],
    anyOf: [{ $ref: '#/$defs/SessionEvent' }, { $ref: '#/$defs/RiskAlert' }],
    $defs: {
      SessionEvent: { anyOf: SESSION_EVENT_TYPES.map((t) => ({ $ref: `#/$defs/${t}` })) },
      ...eventDefs,
      RiskAlert: plain(RiskAlert),
    },
  }
}

export function eventsJsonSchemaText(): string {
  return `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_PATH, eventsJsonSchemaText())
  console.log(`wrote ${SCHEMA_PATH}`)
}
