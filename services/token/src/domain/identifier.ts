export type Identifier = { value: string; kind: 'email' | 'phone' }

const E164 = /^\+[1-9]\d{6,14}$/
// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is the mailer's job.
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/

/** Normalises an identifier: emails lower-cased, phone numbers without spaces, dashes or brackets. */
export function normaliseIdentifier(raw: string): Identifier | undefined {
  const trimmed = raw.trim()
  if (trimmed.includes('@')) {
    const value = trimmed.toLowerCase()
    return EMAIL.test(value) && value.length <= 254 ? { value, kind: 'email' } : undefined
  }
  const value = trimmed.replace(/[\s\-().]/g, '')
  return E164.test(value) ? { value, kind: 'phone' } : undefined
}
