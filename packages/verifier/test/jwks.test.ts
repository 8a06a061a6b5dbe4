import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { createSigner } from 'fast-jwt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccessTokenVerifier, importJwks, JwksKeySource } from '../src/index.ts'

function keyPair(kid: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }
  const sign = createSigner({
    algorithm: 'EdDSA',
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    kid,
    header: { alg: 'EdDSA', typ: 'at+jwt' },
    iss: 'iss',
    aud: 'aud',
    expiresIn: 60_000,
  })
  return { jwk, sign: (sid: string) => sign({ sub: 'u1', sid, jti: `j-${Math.random()}`, roles: ['user'] }) }
}

const first = keyPair('k1')
const second = keyPair('k2')
let published = [first.jwk]
let fetches = 0
let server: Server
let url: string

beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: published }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`
})
afterAll(() => new Promise((r) => server.close(r)))

describe('JWKS key source', () => {
  it('imports only Ed25519 keys with a kid', () => {
    const keys = importJwks({
      keys: [
        first.jwk,
        { kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' },
        { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' },
        null,
      ],
    })
    expect([...keys.keys()]).toEqual(['k1'])
  })

  it('refetches on an unknown kid, at most once per interval whatever the number of forged kids', async () => {
    const source = new JwksKeySource({ url, minRefetchIntervalMs: 60_000 })
    await source.start()
    const verify = createAccessTokenVerifier({
      issuer: 'iss',
      audience: 'aud',
      keys: source,
      sessionState: async () => 'active',
    })
    expect((await verify(first.sign('s1'))).sessionId).toBe('s1')
    const before = fetches
    // A rotation publishes k2; the first token signed with it triggers one refetch…
    published = [first.jwk, second.jwk]
    const source2 = new JwksKeySource({ url, minRefetchIntervalMs: 60_000 })
    await source2.start()
    const verify2 = createAccessTokenVerifier({
      issuer: 'iss',
      audience: 'aud',
      keys: source2,
      sessionState: async () => 'active',
    })
    expect((await verify2(second.sign('s2'))).sessionId).toBe('s2')
    // …while on the first source (just fetched) a flood of unknown kids costs at most one more fetch.
    const forged = Array.from({ length: 50 }, () => verify(second.sign('s3')).catch((e) => e.code))
    const results = await Promise.all(forged)
    expect(fetches - before).toBeLessThanOrEqual(2)
    expect(new Set(results).size).toBe(1)
    source.stop()
    source2.stop()
  })

  it('fails closed: unknown session state is 503, revoked is TOKEN_REVOKED, a Redis error is a dependency error', async () => {
    const source = new JwksKeySource({ url })
    await source.start()
    const make = (state: () => Promise<'active' | 'revoked' | 'unknown'>) =>
      createAccessTokenVerifier({ issuer: 'iss', audience: 'aud', keys: source, sessionState: state })
    await expect(make(async () => 'unknown')(first.sign('a'))).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
    })
    await expect(make(async () => 'revoked')(first.sign('a'))).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
    })
    await expect(
      make(async () => {
        throw new Error('Connection is closed.')
      })(first.sign('a')),
    ).rejects.toMatchObject({ name: 'DependencyError' })
    source.stop()
  })
})
