-- signal_state.lua records a SKU's signal state in the index the gauges
-- count ({signals} slot), as of one of its events: only an event newer
-- than the one recorded moves it, so sweepers (one per replica) and a
-- recovery that read older states never move it back.
-- KEYS: 1 hash SKU → last recorded sequence number, 2 set of SKUs at or
--       below their point (low or out), 3 set of SKUs out of stock
-- ARGV: 1 SKU, 2 the event's sequence number, 3 the state after it
--       ('', 'low' or 'out')
-- Returns 1 when recorded, 0 when a newer event was already.
local seq = tonumber(ARGV[2])
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if seq <= cur then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == 'out' then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[1])
elseif ARGV[3] == 'low' then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
else
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
end
return 1
