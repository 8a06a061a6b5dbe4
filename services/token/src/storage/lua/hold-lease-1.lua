--[[
  Takes or extends a lease: succeeds when the lease is free or already ours.
  Only one token-service instance relays the outbox at a time, so events are rarely published twice.

  KEYS[1] lease key
  ARGV[1] holder id (random per process)
  ARGV[2] lease duration in ms

  Returns: 1 when the caller holds the lease now, 0 when another holder does.
]]
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
