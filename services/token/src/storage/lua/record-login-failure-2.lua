--[[
  Counts one failed login for an identifier and locks it when the count reaches the threshold.
  One script so the count and the lock change together (no lost increments between instances).

  KEYS[1] failure counter   lf:{<id hash>}:n
  KEYS[2] lock flag         lf:{<id hash>}:lock   (same hash tag: one slot on Redis Cluster)
  ARGV[1] threshold (e.g. 5)
  ARGV[2] counting window in ms (the counter expires this long after the first failure)
  ARGV[3] lock duration in ms

  Returns: the lock's duration in ms when this failure locked the identifier, else 0.
]]
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return tonumber(ARGV[3])
end
return 0
