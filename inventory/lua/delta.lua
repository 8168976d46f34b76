-- delta.lua moves on_hand at one location by a signed amount, once per
-- operation key: the same request again returns the figures of its first
-- run (repeat); another request under a used key changes nothing (conflict).
-- KEYS: 1 stock hash, 2 journal, 3 operation key, and with signals on
--       4 reorder hash, 5 pending signal events (lib.lua signal)
-- ARGV: 1 location, 2 on_hand delta, 3 op, 4 cause, 5 ref, 6 may create
--       the SKU '1'|'0', 7 refuse a negative on_hand '1'|'0', 8 now (ms),
--       9 operation TTL (ms), 10 journal maxlen, 11 the largest figure,
--       12 the request's fingerprint (hex, computed by Go), 13 reorder
--       defaults (lib.lua sigdefs)
-- The operation record is "onhand,reserved,fingerprint"; one written before
-- fingerprints ("onhand,reserved") matches every request.
-- Returns {status, on_hand, reserved}; status out_of_range (nothing changed)
-- when on_hand would pass the largest figure either way.
local skey, jkey, kkey = KEYS[1], KEYS[2], KEYS[3]
local loc = ARGV[1]
local dh = tonumber(ARGV[2])

local prev = redis.call('GET', kkey)
if prev then
  local h, r, fp = string.match(prev, '^(-?%d+),(-?%d+),(%x+)$')
  if not h then
    h, r = string.match(prev, '^(-?%d+),(-?%d+)$')
    if not h then return redis.error_reply('ERR corrupt operation record') end
  end
  if fp and fp ~= ARGV[12] then return {'conflict', tonumber(h), tonumber(r)} end
  return {'repeat', tonumber(h), tonumber(r)}
end

local h, r, hs, rs, cv, found = getfig(skey, loc)
if not found and ARGV[6] ~= '1' and redis.call('EXISTS', skey) == 0 then
  return {'unknown_sku', 0, 0}
end
if ARGV[7] == '1' and h + dh < 0 then return {'insufficient', h, r} end
if not inrange(h + dh, tonumber(ARGV[11])) then return {'out_of_range', h, r} end

local nhs = n2s(h + dh)
putfig(skey, loc, nhs, rs, cv)
journal(jkey, ARGV[10], ARGV[8], ARGV[3], ARGV[4], ARGV[5], loc, hs, rs, nhs, rs)
redis.call('SET', kkey, nhs .. ',' .. rs .. ',' .. ARGV[12], 'PX', ARGV[9])
signal(skey, KEYS[4], KEYS[5], ARGV[8], ARGV[13])
return reply({'applied', h + dh, r})
