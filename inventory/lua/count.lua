-- count.lua sets on_hand at one location to an absolute count from a WMS,
-- unless a count with the same or a newer version was already applied.
-- KEYS: 1 stock hash, 2 journal, and with signals on 3 reorder hash,
--       4 pending signal events (lib.lua signal)
-- ARGV: 1 location, 2 quantity, 3 version, 4 net '1'|'0', 5 cause, 6 now (ms),
--       7 journal maxlen, 8 the largest figure
-- Returns {status, on_hand, reserved}; status out_of_range (nothing changed)
-- when the physical count would pass the largest figure.
local skey, jkey = KEYS[1], KEYS[2]
local loc, ver = ARGV[1], ARGV[3]
local h, r, hs, rs, cv = getfig(skey, loc)
if cv ~= '' and vcmp(ver, cv) <= 0 then return {'stale', h, r} end

-- A net figure already excludes open reservations, so the physical count
-- is that figure plus what is reserved here: reservations are never
-- subtracted twice.
local nh = tonumber(ARGV[2])
if ARGV[4] == '1' then nh = nh + r end
if not inrange(nh, tonumber(ARGV[8])) then return {'out_of_range', h, r} end
local nhs = n2s(nh)
putfig(skey, loc, nhs, rs, ver)
local op = 'count'
if ARGV[4] == '1' then op = 'count_net' end
journal(jkey, ARGV[7], ARGV[6], op, ARGV[5], 'v=' .. ver, loc, hs, rs, nhs, rs)
signal(skey, KEYS[3], KEYS[4], ARGV[6])
return {'applied', nh, r}
