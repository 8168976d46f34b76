-- intent_clear.lua removes an intent only if it still carries the sequence
-- number the caller read: a mark made since then stays pending.
-- KEYS: 1 intents zset; ARGV: 1 SKU, 2 sequence number.
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if cur and tonumber(cur) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
