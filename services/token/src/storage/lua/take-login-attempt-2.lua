--[[
  Admits one login attempt for an account, counted BEFORE its password is checked, so however many
  attempts arrive at once, at most `threshold` passwords are verified per window.

  KEYS[1] attempt counter   d:<deployment>:lf:{<account hash>}:n
  KEYS[2] lock flag         d:<deployment>:lf:{<account hash>}:lock   (same hash tag: one slot on a cluster)
  ARGV[1] threshold (e.g. 5)
  ARGV[2] counting window in ms (the counter expires this long after the latest attempt)

  Returns: n > 0, the attempt's number in the window (admitted: verify the password);
           -ms when the account is locked (ms left on the lock);
           0 when `threshold` attempts are already counted and none has locked the account yet (they are
             still being checked, or the count waits for a success): refused, not counted, ask again soon.
]]
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then
  return -locked
end
local n = redis.call('INCR', KEYS[1])
-- The count lives until a whole window passes without an attempt: any `threshold` failures within one
-- window are counted together, wherever the window starts (a fixed window from the first attempt let 4
-- failures before its end and 4 after it through).
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return n
