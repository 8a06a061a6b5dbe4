import type { Redis } from 'ioredis'

/**
 * A Redis adapter for oidc-provider, after the shape of the project's own example adapter (its README points
 * at it for production use): each model instance is one key with a TTL; tokens that can be consumed are a
 * hash (`payload`, `consumed`) so `consume` is one HSET; tokens of a grant are listed in a set so a grant
 * revocation deletes them all. The provider checks `consumed` and then consumes in two steps, as it does
 * with every adapter.
 */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
])
const CONSUMABLE = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
])

type Payload = Record<string, unknown> & {
  grantId?: string
  userCode?: string
  uid?: string
  consumed?: number
}

export function redisAdapterFactory(redis: Redis) {
  return class RedisAdapter {
    name: string
    constructor(name: string) {
      this.name = name
    }
    key(id: string) {
      return `${this.name}:${id}`
    }
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      const key = this.key(id)
      const multi = redis.multi()
      if (CONSUMABLE.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) })
      else multi.set(key, JSON.stringify(payload))
      if (expiresIn) multi.expire(key, expiresIn)
      if (GRANTABLE.has(this.name) && payload.grantId) {
        const grantKey = `grant:${payload.grantId}`
        multi.rpush(grantKey, key)
        if (expiresIn) multi.expire(grantKey, expiresIn)
      }
      if (payload.userCode) multi.set(`userCode:${payload.userCode}`, id, 'EX', expiresIn ?? 3600)
      if (payload.uid) multi.set(`uid:${payload.uid}`, id, 'EX', expiresIn ?? 3600)
      await multi.exec()
    }
    async find(id: string): Promise<Payload | undefined> {
      const key = this.key(id)
      if (!CONSUMABLE.has(this.name)) {
        const raw = await redis.get(key)
        return raw ? (JSON.parse(raw) as Payload) : undefined
      }
      const { payload, consumed } = await redis.hgetall(key)
      if (!payload) return undefined
      return { ...(JSON.parse(payload) as Payload), ...(consumed ? { consumed: Number(consumed) } : {}) }
    }
    async findByUid(uid: string) {
      const id = await redis.get(`uid:${uid}`)
      return id ? this.find(id) : undefined
    }
    async findByUserCode(userCode: string) {
      const id = await redis.get(`userCode:${userCode}`)
      return id ? this.find(id) : undefined
    }
    async consume(id: string) {
      await redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000))
    }
    async destroy(id: string) {
      await redis.del(this.key(id))
    }
    async revokeByGrantId(grantId: string) {
      const grantKey = `grant:${grantId}`
      const keys = await redis.lrange(grantKey, 0, -1)
      await redis.del(...keys, grantKey)
    }
  }
}
