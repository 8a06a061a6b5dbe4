--[[
  Gives back an admitted attempt whose password was never checked (the hashing cap refused it, or a
  dependency failed): it is no failure, and must not hold a place in the window.

  KEYS[1] attempt counter   d:<deployment>:lf:{<account hash>}:n

  Returns: the count after the release.
]]
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
