-- movelib.lua is prepended (after lib.lua) to the scripts that move
-- on_hand by a delta or a count (delta.lua, count.lua, count_bulk.lua):
-- the range check, and the journal entry of every movement other than an
-- order line's (line.lua's move writes those).

-- maxq bounds every figure (inventory.MaxQuantity, passed in by Go so the
-- two can not disagree): far below 2^53, so the doubles Lua adds in stay
-- exact. A script refuses a movement whose result would pass it.
local function inrange(n, maxq)
  return n <= maxq and n >= -maxq
end

-- Every movement is appended in the same script run as the change itself,
-- so the journal can never disagree with the figures it explains. An entry
-- is one field, m = "op,h0,r0,h1,r1,t,<rest>" (before, after, time in ms;
-- the figures as decimal strings), where <rest> is, for op 'line',
-- "version,channel␟order␟line␟location" (␟ = 0x1f, which ids never hold),
-- and for every other op "#cause,#ref,<cause><ref><location>" (byte lengths:
-- reasons, keys and locations may hold any byte).
local function entry(now, op, cause, ref, loc, h0, r0, h1, r1)
  return op .. ',' .. h0 .. ',' .. r0 .. ',' .. h1 .. ',' .. r1 .. ',' .. now .. ','
    .. #cause .. ',' .. #ref .. ',' .. cause .. ref .. loc
end

local function journal(jkey, maxlen, now, op, cause, ref, loc, h0, r0, h1, r1)
  redis.call('XADD', jkey, 'MAXLEN', '~', maxlen, '*', 'm',
    entry(now, op, cause, ref, loc, h0, r0, h1, r1))
end
