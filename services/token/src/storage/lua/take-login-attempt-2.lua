--[[
  Admits one login attempt for an account, counted BEFORE its password is checked, so however many
  attempts arrive at once, at most `threshold` passwords are verified per window.

  KEYS[1] attempt counter   d:<deployment>:lf:{<account hash>}:n
  KEYS[2] lock flag         d:<deployment>:lf:{<account hash>}:lock   (same hash tag: one slot on a cluster)
  ARGV[1] threshold (e.g. 5)
  ARGV[2] counting window in ms (the counter expires this long after the first attempt)

  Returns: n > 0, the attempt's number in the window (admitted: verify the password);
           -ms when refused: the account is locked (ms left on the lock), or `threshold` attempts are
           already counted in this window (ms left on the window).
]]
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then
  return -locked
end
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
if n > tonumber(ARGV[1]) then
  return -left
end
return n
