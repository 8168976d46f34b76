-- intent_mark.lua marks SKUs whose figures are about to change, with a
-- sequence number that grows on every mark, so a clear can tell whether
-- the SKU was marked again after it was read.
-- KEYS: 1 intents zset, 2 sequence counter; ARGV: the SKUs.
local seq = redis.call('INCR', KEYS[2])
for i = 1, #ARGV do
  redis.call('ZADD', KEYS[1], seq, ARGV[i])
end
return seq
