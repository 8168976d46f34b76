-- reorder_default.lua sets (or, with point '', removes) the default
-- reorder point and quantity of one location ('*': every location),
-- bumps the defaults' version, records that the SKUs are to be evaluated
-- again once every replica can have the change (due, for that version),
-- notes that a reorder point was set (cfg: the stock scripts evaluate
-- signals from then on), and journals the change. The defaults are one key of their own (their
-- own slot): no stock script reads them (reorder_defaults.go).
-- KEYS: 1 defaults hash, 2 defaults journal (stream)
-- ARGV: 1 location, 2 point ('' removes), 3 quantity ('' none), 4 now (ms),
--       5 source, 6 journal maxlen, 7 re-evaluation due (ms)
-- Returns {old setting ("point,qty", '' for none), version}; an unchanged
-- setting changes nothing (no new version, no re-evaluation).
local f = 'd:' .. ARGV[1]
local old = redis.call('HGET', KEYS[1], f) or ''
local new = ''
if ARGV[2] ~= '' then new = ARGV[2] .. ',' .. ARGV[3] end
if old == new then
  return {old, tonumber(redis.call('HGET', KEYS[1], 'v') or '0')}
end
if new == '' then
  redis.call('HDEL', KEYS[1], f)
else
  redis.call('HSET', KEYS[1], f, new)
end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'due', ARGV[7], 'duev', v, 'cfg', '1')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'location', ARGV[1], 'old', old, 'new', new,
  'source', ARGV[5], 't', ARGV[4])
return {old, v}
