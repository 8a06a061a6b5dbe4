--[[
  Publishes a batch of outbox events only while the stream still holds what the relay recorded: the check
  and the XADDs are one step, so a stream lost just before the publish (Redis restarted without its data,
  or from an older snapshot) is always seen, never covered by the new entries' ids.

  KEYS[1] the stream
  ARGV[1] the highest stream id the outbox recorded for a published row ('' when none: nothing to check)
  ARGV[2] MAXLEN ~ for every XADD ('' for none)
  ARGV[3..] four fields per event: 'type', <type>, 'data', <envelope>

  Returns {1, {id, ...}}: published, the entry ids in order; or {0, last}: nothing published, the stream's
  last generated id is below ARGV[1] (last = '' when the stream is gone).
]]
-- a < b for ids "<ms>-<seq>" without leading zeros (Redis' own form), parts up to 20 digits
local function below(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end

local stream, recorded, maxlen = KEYS[1], ARGV[1], ARGV[2]
if recorded ~= '' then
  if redis.call('EXISTS', stream) == 0 then return {0, ''} end
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      if below(info[i + 1], recorded) then return {0, info[i + 1]} end
      break
    end
  end
end

local ids = {}
for i = 3, #ARGV, 4 do
  if maxlen == '' then
    ids[#ids + 1] = redis.call('XADD', stream, '*', ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  else
    ids[#ids + 1] = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  end
end
return {1, ids}
