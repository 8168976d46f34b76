-- count_bulk.lua applies many versioned absolute counts (countlib.lua
-- setcount) of SKUs whose keys share one Cluster slot, in one run: what
-- a run of count.lua per count would do, but the script's fixed cost is
-- paid once, and each SKU's signals are evaluated once, after all its
-- counts (a crossing made and undone within one run is none, lib.lua).
--
-- Opening rows: a SKU that has neither figures nor a journal stream when
-- the run starts (new: a day-one import) does not get a journal stream of
-- its own for its counts. Their entries (the same strings journal()
-- writes) go in the slot's opening hash, field = the SKU, value = each
-- entry as "<byte length>:<entry>", one HSET for the run; the SKU's
-- journal stream starts with its next movement, so its opening rows come
-- before every entry of it (journal readers put them first: journal.go).
-- A new stream costs Redis a preallocated node (stream-node-max-bytes,
-- 4 KB by default) and most of a count's time; a hash field does not.
--
-- KEYS: 1 the slot's opening hash, then per SKU, stride keys: stock hash,
--       journal, and with signals on reorder hash, pending signal events
-- ARGV: 1 now (ms), 2 journal maxlen, 3 the largest figure, 4 stride (2|4),
--       5 reorder defaults (lib.lua sigdefs), 6 the number of SKUs n,
--       7..6+n the SKUs (in KEYS order), then six
--       per count: SKU number (1-based), location, quantity, version,
--       net '1'|'0', cause
-- Returns status, on_hand, reserved per count, flat, in ARGV order.
local now, maxlen, maxq, stride = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local defs, nsku = ARGV[5], tonumber(ARGV[6])
local _, anydefs = sigdefs(defs)
local out, touched, seen, opening, fresh, nosig = {}, {}, {}, {}, {}, {}
for i = 7 + nsku, #ARGV, 6 do
  local n = tonumber(ARGV[i])
  local k = 1 + (n - 1) * stride
  if opening[n] == nil then
    opening[n] = false
    -- One EXISTS of both keys (it counts the keys that exist) tells
    -- whether the SKU is new. A new SKU has no reorder points of its own
    -- (reorder.lua refuses, in the same script, a SKU without figures,
    -- and nothing deletes a stock hash), so unless a default reorder
    -- point may apply to it, signal, which reads them, is skipped for it:
    -- a day-one import without defaults reads none. A SKU that exists has
    -- them read by signal, as count.lua does.
    local ex = redis.call('EXISTS', KEYS[k + 1], KEYS[k + 2])
    if ex == 0 then
      opening[n] = {}
      fresh[#fresh + 1] = n
      if not anydefs then nosig[k] = true end
    end
  end
  local st, h, r = setcount(KEYS[k + 1], KEYS[k + 2], ARGV[i + 1], ARGV[i + 2],
    ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], now, maxlen, maxq, opening[n] or nil)
  out[#out + 1] = st
  out[#out + 1] = h
  out[#out + 1] = r
  if st == 'applied' and not seen[k] then
    seen[k] = true
    touched[#touched + 1] = k
  end
end
local fields = {}
for _, n in ipairs(fresh) do
  local rows = opening[n]
  if #rows > 0 then
    for j, m in ipairs(rows) do rows[j] = #m .. ':' .. m end
    fields[#fields + 1] = ARGV[6 + n]
    fields[#fields + 1] = table.concat(rows)
  end
end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
for _, k in ipairs(touched) do
  if not nosig[k] then signal(KEYS[k + 1], KEYS[k + 3], KEYS[k + 4], now, defs) end
end
return reply(out)
