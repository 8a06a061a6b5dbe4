--[[
  An admitted attempt failed its password check. The attempt that reaches the threshold locks the account
  (its attempt was already counted by take-login-attempt-2.lua; this only decides the lock).

  KEYS[1] attempt counter   d:<deployment>:lf:{<account hash>}:n
  KEYS[2] lock flag         d:<deployment>:lf:{<account hash>}:lock
  ARGV[1] threshold
  ARGV[2] lock duration in ms
  ARGV[3] the failed attempt's number (from take-login-attempt-2.lua)

  Returns: the lock's duration in ms when this failure locked the account, else 0.
]]
if tonumber(ARGV[3]) >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  redis.call('DEL', KEYS[1])
  return tonumber(ARGV[2])
end
return 0
