-- reorder.lua sets (or, with point '', removes) one location's reorder
-- point and quantity of a SKU, keeps their sums (P, Q) beside them,
-- journals the change, and evaluates the SKU's signal state at once (a SKU
-- already at or below its new point is announced).
-- KEYS: 1 stock hash, 2 reorder hash, 3 pending signal events,
--       4 reorder journal (stream)
-- ARGV: 1 location, 2 point ('' removes), 3 quantity ('' none), 4 now (ms),
--       5 source, 6 journal maxlen, 7 reorder defaults (lib.lua sigdefs)
-- Returns 'unknown_sku' (nothing changed) or the location's old setting
-- ("point,qty", '' for none).
local skey, rkey, ekey = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', skey) == 0 then return 'unknown_sku' end
local f = 'p:' .. ARGV[1]
local old = redis.call('HGET', rkey, f) or ''
local new = ''
if ARGV[2] == '' then
  redis.call('HDEL', rkey, f)
else
  new = ARGV[2] .. ',' .. ARGV[3]
  redis.call('HSET', rkey, f, new)
end
local all = redis.call('HGETALL', rkey)
local p, q, any, anyq = 0, 0, false, false
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'p:' then
    local ps, qs = string.match(all[i + 1], '^(%d+),(%d*)$')
    if not ps then error('corrupt reorder setting ' .. all[i]) end
    p, any = p + tonumber(ps), true
    if qs ~= '' then q, anyq = q + tonumber(qs), true end
  end
end
if any then
  redis.call('HSET', rkey, 'P', n2s(p))
  if anyq then redis.call('HSET', rkey, 'Q', n2s(q)) else redis.call('HDEL', rkey, 'Q') end
else
  -- No point left: signals stop and the state is forgotten (seq stays, so
  -- event ids are never reused).
  -- An internal rearm record carries the state '' to the sweeper, which
  -- then counts the SKU as neither low nor out.
  local st = redis.call('HGET', rkey, 'st')
  redis.call('HDEL', rkey, 'P', 'Q', 'st')
  if st and st ~= '' then sigpush(rkey, ekey, 'rearm', ARGV[4], '', 0, 0, 0, {'0'}) end
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'location', ARGV[1], 'old', old, 'new', new,
  'source', ARGV[5], 't', ARGV[4])
signal(skey, rkey, ekey, ARGV[4], ARGV[7])
return old
