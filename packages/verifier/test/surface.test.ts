import { describe, expect, it } from 'vitest'

// Resource servers import the main entry and only read the hot session state; its writes are on
// `@africhain/verifier/state-writer`, imported by the token service alone.
describe('@africhain/verifier entry points', () => {
  it('the main entry exports no session-state writer', async () => {
    const main = Object.keys(await import('@africhain/verifier')).sort()
    expect(main).toEqual([
      'JwksKeySource',
      'WriteProbe',
      'createAccessTokenVerifier',
      'importJwks',
      'readSessionState',
      'sessionKey',
      'verifierPlugin',
    ])
  })

  it('the state-writer subpath holds the writes', async () => {
    const writer = Object.keys(await import('@africhain/verifier/state-writer')).sort()
    expect(writer).toEqual(['CLOCK_MARGIN_MS', 'markSessionActive', 'markSessionRevoked'])
  })
})
