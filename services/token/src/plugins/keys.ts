import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { type RefreshTokenCodec, refreshTokenCodec } from '../domain/refresh-token.ts'
import { keyEncryption } from '../keys/key-crypto.ts'
import { KeyRing } from '../keys/key-ring.ts'
import { loadRefreshKey } from '../storage/refresh-key.ts'
import type { BackgroundOptions } from './options.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The signing keys: the active one signs, every published one verifies (JWKS). */
    keyRing: KeyRing
    /** Mints and reads refresh tokens under the deployment's refresh-token key. */
    refreshTokens: RefreshTokenCodec
  }
}

/**
 * The signing keys (one exists before the first request; reloaded every 30 s while `background`) and the
 * refresh-token key (made once per deployment, storage/refresh-key.ts).
 */
export const keysPlugin = fp(
  async (app: FastifyInstance, { config, background }: BackgroundOptions) => {
    if (config.KEY_ENCRYPTION_SECRET === undefined) {
      app.log.warn(
        'KEY_ENCRYPTION_SECRET is not set: private signing keys are stored unencrypted in the database',
      )
    }
    const encryption = keyEncryption(config.KEY_ENCRYPTION_SECRET)
    app.decorate('refreshTokens', refreshTokenCodec(await loadRefreshKey(app.db, encryption)))
    const keyRing = new KeyRing({
      db: app.db,
      encryption,
      accessTtl: config.ACCESS_TOKEN_TTL,
      log: app.log.child({ component: 'key-ring' }),
    })
    await keyRing.ensureKey()
    app.decorate('keyRing', keyRing)
    if (background) {
      app.addHook('onReady', async () =>
        keyRing.start((err) =>
          app.log.warn({ err: { message: (err as Error).message } }, 'key reload failed'),
        ),
      )
    }
    app.addHook('onClose', async () => keyRing.stop())
  },
  { name: 'token-keys', fastify: '5.x', dependencies: ['token-connections'] },
)
