import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  ENVELOPE_VERSION,
  eventsJsonSchema,
  eventsJsonSchemaText,
  SCHEMA_PATH,
} from '../scripts/json-schema.ts'
import { SESSION_EVENT_TYPES } from '../src/index.ts'

// docs/events.schema.json is generated from the TypeBox schemas: a schema change that is not regenerated
// (`pnpm exec node packages/events/scripts/json-schema.ts`) fails here, so the published file never drifts.
describe('docs/events.schema.json', () => {
  it('is what the generator produces from the current schemas', () => {
    expect(
      readFileSync(SCHEMA_PATH, 'utf8'),
      'docs/events.schema.json is stale: run `pnpm exec node packages/events/scripts/json-schema.ts` and commit it',
    ).toBe(eventsJsonSchemaText())
  })

  it('describes every event type and the envelope version they carry', () => {
    const schema = eventsJsonSchema() as { $defs: Record<string, { properties: Record<string, unknown> }> }
    for (const type of SESSION_EVENT_TYPES) {
      expect(schema.$defs[type]?.properties.type).toEqual({ type: 'string', const: type })
      expect(schema.$defs[type]?.properties.version).toEqual({ type: 'number', const: ENVELOPE_VERSION })
    }
    expect(schema.$defs.RiskAlert?.properties.type).toEqual({ type: 'string', const: 'risk.alert' })
  })
})
