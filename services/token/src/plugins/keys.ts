import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { keyEncryption } from '../keys/key-crypto.ts'
import { KeyRing } from '../keys/key-ring.ts'
import type { BackgroundOptions } from './options.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The signing keys: the active one signs, every published one verifies (JWKS). */
    keyRing: KeyRing
  }
}

/** The signing keys: one exists before the first request; reloaded every 30 s while `background`. */
export const keysPlugin = fp(
  async (app: FastifyInstance, { config, background }: BackgroundOptions) => {
    if (config.KEY_ENCRYPTION_SECRET === undefined) {
      app.log.warn(
        'KEY_ENCRYPTION_SECRET is not set: private signing keys are stored unencrypted in the database',
      )
    }
    const keyRing = new KeyRing({
      db: app.db,
      encryption: keyEncryption(config.KEY_ENCRYPTION_SECRET),
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
