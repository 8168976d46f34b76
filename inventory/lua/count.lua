-- count.lua sets on_hand at one location to an absolute count from a WMS,
-- unless a count with the same or a newer version was already applied
-- (countlib.lua setcount).
-- KEYS: 1 stock hash, 2 journal, and with signals on 3 reorder hash,
--       4 pending signal events (lib.lua signal)
-- ARGV: 1 location, 2 quantity, 3 version, 4 net '1'|'0', 5 cause, 6 now (ms),
--       7 journal maxlen, 8 the largest figure, 9 reorder defaults (lib.lua
--       sigdefs)
-- Returns {status, on_hand, reserved}; status out_of_range (nothing changed)
-- when the physical count would pass the largest figure.
local st, h, r = setcount(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]))
if st == 'applied' then signal(KEYS[1], KEYS[3], KEYS[4], ARGV[6], ARGV[9]) end
return reply({st, h, r})
