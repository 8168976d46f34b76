-- intent_mark.lua marks SKUs whose figures are about to change, with a
-- sequence number that grows on every mark, so a clear can tell whether
-- the SKU was marked again after it was read. One ZADD per 500 SKUs (a
-- bulk import marks thousands a run; a command per SKU cost more than
-- the ZADD's work).
-- KEYS: 1 intents zset, 2 sequence counter; ARGV: the SKUs.
local seq = redis.call('INCR', KEYS[2])
local args = {}
for i = 1, #ARGV do
  args[#args + 1] = seq
  args[#args + 1] = ARGV[i]
  if #args == 1000 or i == #ARGV then
    redis.call('ZADD', KEYS[1], unpack(args))
    args = {}
  end
end
return seq
