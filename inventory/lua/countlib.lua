-- countlib.lua is prepended (after lib.lua) to count.lua and
-- count_bulk.lua: one versioned absolute count, so the single and the
-- bulk count can not disagree.

-- setcount sets on_hand at loc to the count qs (a decimal string), unless
-- a count with the same or a newer version was already applied there, and
-- journals it. A net count (net '1') already excludes open reservations,
-- so the physical count is that figure plus what is reserved here:
-- reservations are never subtracted twice. Returns status (applied,
-- stale, or out_of_range: nothing changed), on_hand and reserved. The
-- caller evaluates signals once the run's figures are written. With
-- opening (a table: the SKU has no journal stream yet, count_bulk.lua),
-- the entry is appended to it instead of the journal.
local function setcount(skey, jkey, loc, qs, ver, net, cause, now, maxlen, maxq, opening)
  local h, r, hs, rs, cv = getfig(skey, loc)
  if cv ~= '' and vcmp(ver, cv) <= 0 then return 'stale', h, r end
  local nh = tonumber(qs)
  if net == '1' then nh = nh + r end
  if not inrange(nh, maxq) then return 'out_of_range', h, r end
  local nhs = n2s(nh)
  putfig(skey, loc, nhs, rs, ver)
  local op = 'count'
  if net == '1' then op = 'count_net' end
  if opening then
    opening[#opening + 1] = entry(now, op, cause, 'v=' .. ver, loc, hs, rs, nhs, rs)
  else
    journal(jkey, maxlen, now, op, cause, 'v=' .. ver, loc, hs, rs, nhs, rs)
  end
  return 'applied', nh, r
end
