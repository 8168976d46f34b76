-- count_bulk.lua applies many versioned absolute counts (countlib.lua
-- setcount) of SKUs whose keys share one Cluster slot, in one run: what
-- a run of count.lua per count would do, but the script's fixed cost is
-- paid once, and each SKU's signals are evaluated once, after all its
-- counts (a crossing made and undone within one run is none, lib.lua).
-- KEYS: per SKU, stride keys: stock hash, journal, and with signals on
--       reorder hash, pending signal events
-- ARGV: 1 now (ms), 2 journal maxlen, 3 the largest figure, 4 stride (2|4),
--       then six per count: SKU number (1-based, in KEYS order), location,
--       quantity, version, net '1'|'0', cause
-- Returns status, on_hand, reserved per count, flat, in ARGV order.
local now, maxlen, maxq, stride = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out, touched, seen = {}, {}, {}
for i = 5, #ARGV, 6 do
  local k = (tonumber(ARGV[i]) - 1) * stride
  local st, h, r = setcount(KEYS[k + 1], KEYS[k + 2], ARGV[i + 1], ARGV[i + 2],
    ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], now, maxlen, maxq)
  out[#out + 1] = st
  out[#out + 1] = h
  out[#out + 1] = r
  if st == 'applied' and not seen[k] then
    seen[k] = true
    touched[#touched + 1] = k
  end
end
for _, k in ipairs(touched) do
  signal(KEYS[k + 1], KEYS[k + 3], KEYS[k + 4], now)
end
return reply(out)
