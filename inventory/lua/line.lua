-- line.lua sets order lines of one SKU to absolute states and moves only
-- the difference to the SKU's figures. The lines of one SKU in a batch share
-- one run: the per-call cost is paid once, and each line sees the writes of
-- the lines before it, exactly as separate runs in that order would.
-- KEYS: 1 stock hash, 2 line records hash, 3 closed-lines zset, 4 journal,
--       and with signals on 5 reorder hash, 6 pending signal events
-- ARGV: 1 now (ms), 2 prune cutoff (ms), 3 journal maxlen, then per line:
--       record field (channel␟order␟line, also the journal's reference),
--       location ('' = choose), ordered, shipped, cancelled, returned,
--       version, flags ('0'..'3': restock 1 + strict 2; 'L': a local
--       shipment, shipped being the line's locally shipped total, the
--       other figures and the version ignored; the line keeps its
--       location, units newly shipped from another one leave there), and
--       only when the location is '': the count of routing arguments that
--       follow, then the routing arguments (see route below): the number
--       of candidates, the candidate locations in priority order, then the
--       routing steps.
-- Returns one string, per line: a status letter (a applied, c applied and
-- the line is new, A and C the same when the line lowered available at its
-- location (it may be what oversold it), n nochange,
-- d duplicate, s stale, r refused, u unknown_sku); unless u, the line's
-- location's "onhand,reserved" after; when the location is not the one
-- given, "=" .. #location .. ":" .. location, and when the script routed
-- the line (new, no location given) "@" .. the routing step that chose it
-- (0: none did, the first candidate); then ";".
-- This is the ledger's hot path: it is written for the Lua VM's cost (no
-- closure or table per line, figures kept as the stored digits, one reply
-- string), and every branch mirrors the README's semantics.
local skey, lkey, xkey, jkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cutoff, maxlen = ARGV[1], ARGV[2], ARGV[3]
local call, tonumber, match = redis.call, tonumber, string.match
-- Signal keys; KEYS[5] = KEYS[1] stands for none (Options.NoSignals with
-- routing keys after them).
local sigr, sige = KEYS[5], KEYS[6]
if sigr == skey then sigr, sige = nil, nil end

-- Figures are read once per run, as {on_hand, reserved, on_hand digits,
-- reserved digits, count version, dirty}, and kept current by move(): the
-- choice, the strict check, the moves and the results of every line share
-- them.
local known = nil -- the SKU exists: set by the first figure found
local figs = {}
local function fig(l)
  local h, r, hs, rs, cv, found = getfig(skey, l)
  if found then known = true end
  local f = {h, r, hs, rs, cv, false}
  figs[l] = f
  return f
end

-- A run of several lines writes the figures and line records once, at its
-- end (the run is atomic: no one sees them in between), each HSET costing
-- a call; the journal entry of each movement is appended as it happens. A
-- run of one line (most runs) writes them as it goes.
local last = #ARGV
local single = last == 11 and ARGV[5] ~= ''
if ARGV[5] == '' then single = last == 12 + tonumber(ARGV[12]) end
local dirty, recs, rw, nrw = nil, nil, nil, 0
if not single then
  dirty = {} -- locations whose figures moved, in order
  recs = {} -- field -> its record (false: none), read up front, kept current
  rw = {} -- HSET arguments of the records this run wrote
  -- One HMGET per 500 lines instead of one HGET per line (unpack() has a
  -- limit).
  local fields, nf, i = {}, 0, 4
  while i <= last do
    nf = nf + 1
    fields[nf] = ARGV[i]
    if ARGV[i + 1] == '' then i = i + 9 + tonumber(ARGV[i + 8]) else i = i + 8 end
  end
  for a = 1, nf, 500 do
    local b = math.min(a + 499, nf)
    local got = call('HMGET', lkey, unpack(fields, a, b))
    for k = a, b do recs[fields[k]] = got[k - a + 1] end
  end
end

local function move(f, l, dh, dr, ver, field)
  local h0, r0 = f[3], f[4]
  local h, r, hs, rs = f[1] + dh, f[2] + dr, h0, r0
  if dh ~= 0 then hs = n2s(h) end
  if dr ~= 0 then rs = n2s(r) end
  journal_line(jkey, maxlen, now, ver, field, l, h0, r0, hs, rs)
  f[1], f[2], f[3], f[4] = h, r, hs, rs
  if single then
    putfig(skey, l, hs, rs, f[5])
  elseif not f[6] then
    f[6] = true; dirty[#dirty + 1] = l
  end
end

local function flush()
  for _, l in ipairs(dirty) do
    local f = figs[l]
    putfig(skey, l, f[3], f[4], f[5])
    f[6] = false
  end
  dirty = {}
  if nrw > 0 then
    call('HSET', lkey, unpack(rw, 1, nrw))
    rw, nrw = {}, 0
  end
end

-- shipped applies the locally shipped units ls to a state's shipped
-- figure s (and its digits ss): max(s, ls), at most the ordered units qs;
-- cancelled units (cs) give way to shipped ones (units that left can not
-- be cancelled). Returns s, ss, cs.
local function shipped(s, ss, qs, cs, ls)
  if ls <= s then return s, ss, cs end
  local q = tonumber(qs)
  if ls > q then ls = q end
  if ls <= s then return s, ss, cs end
  if ls + tonumber(cs) > q then cs = n2s(q - ls) end
  return ls, n2s(ls), cs
end

-- Routing (README "Order routing"). A new line without a location gets
-- it from its routing arguments: the number of candidates and the
-- candidates (the channel's locations by priority), then steps, each
-- kind..rule name, the number of its locations (0: the candidates) and the
-- locations, and for kind 's' the number of the order's other lines in the
-- batch and per line: KEYS index of its SKU's stock hash and of its line
-- records (1 and 2: this SKU), its record field and the units it
-- reserves. Kinds: 'f' the first location with enough available, 'm' the
-- one with the most available, 's' the first where every line of the
-- order fits (lines already recorded elsewhere rule a location out), 'x'
-- a step Go could not give its keys (Cluster slots): it passes. A step
-- that finds nothing passes to the next; when none is given, 'f' over
-- the candidates ("priority"); when none finds one, the first candidate.
-- Figures of other SKUs are read here, in the same atomic run.
local function avail_at(k, l)
  local v = call('HGET', KEYS[k], l)
  if not v then return 0 end
  local hs, rs = match(v, '^(-?%d+),(-?%d+)')
  if not hs then error('corrupt stock figures at location ' .. l) end
  return tonumber(hs) - tonumber(rs)
end

local function rec_loc(k, fld)
  local rec
  if k == 2 and recs then rec = recs[fld] else rec = call('HGET', KEYS[k], fld) end
  if not rec then return nil end
  return match(rec, '^[^,]*,%d+,%d+,%d+,%d+,%d+,(.+)$')
end

local function whole(l, rn, a, m)
  local need = {[1] = rn}
  for q = a, a + 4 * (m - 1), 4 do
    local rl = rec_loc(tonumber(ARGV[q + 1]), ARGV[q + 2])
    if rl then
      if rl ~= l then return false end
    else
      local sk = tonumber(ARGV[q])
      need[sk] = (need[sk] or 0) + tonumber(ARGV[q + 3])
    end
  end
  for sk, qn in pairs(need) do
    local av
    if sk == 1 then
      local f = figs[l] or fig(l)
      av = f[1] - f[2]
    else
      av = avail_at(sk, l)
    end
    if av < qn then return false end
  end
  return true
end

local function pick_step(kind, a, b, rn, wa, m)
  local best, pick
  for k = a, b do
    local l = ARGV[k]
    if kind == 's' then
      if whole(l, rn, wa, m) then return l end
    elseif kind == 'f' or kind == 'm' then
      local f = figs[l] or fig(l)
      local av = f[1] - f[2]
      if kind == 'f' and av >= rn then return l end
      if kind == 'm' and (not best or av > best) then best, pick = av, l end
    end
  end
  return pick
end

-- route returns the location of the new line whose arguments start at i,
-- the number of the step that chose it (0: none) and the step's rule.
local function route(i, rn)
  local e = i + 8 + tonumber(ARGV[i + 8])
  local nc = tonumber(ARGV[i + 9])
  local c0 = i + 10
  local j, step = c0 + nc, 0
  if j > e then
    local l = pick_step('f', c0, c0 + nc - 1, rn)
    if l then return l, 1, 'priority' end
    return ARGV[c0], 0, 'fallback'
  end
  while j <= e do
    step = step + 1
    local kind, name = string.sub(ARGV[j], 1, 1), string.sub(ARGV[j], 2)
    local n = tonumber(ARGV[j + 1])
    local a, b, nx = j + 2, j + 1 + n, j + 2 + n
    if n == 0 then a, b = c0, c0 + nc - 1 end
    local m = 0
    if kind == 's' then m = tonumber(ARGV[nx]); nx = nx + 1 + 4 * m end
    local l = pick_step(kind, a, b, rn, j + 3 + n, m)
    if l then return l, step, name end
    j = nx
  end
  return ARGV[c0], 0, 'fallback'
end

local out, n = {}, 0
local i = 4
local function run()
  while i <= last do
    local field, given = ARGV[i], ARGV[i + 1]
    local qs, ss, cs = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    local s, ret = tonumber(ss), tonumber(ARGV[i + 5])
    local ver, flags = ARGV[i + 6], ARGV[i + 7]
    local loc, status, f = given, nil, nil
    local step, rname, jv = nil, nil, ver -- routing step, its rule, journal version

    local old
    if single then old = call('HGET', lkey, field) else old = recs[field] end
    local oq, oS, oc, ors, owo, oloc
    local rss, wos = '0', '0' -- the returned split, written back as stored unless it moves
    -- ls: the units shelfsync itself shipped (sync/shipments), kept beside
    -- the version as "version:ls" when not 0. The line's shipped figure is
    -- max(what the channel says, ls): a channel state that has not seen the
    -- shipment yet does not undo it, and the channel's own report of it
    -- does not count it twice.
    local ls = 0
    if old then
      local over, ols
      over, ols, oq, oS, oc, rss, wos, oloc = match(old, '^(%d+):?(%d*),(%d+),(%d+),(%d+),(%d+),(%d+),(.+)$')
      if not over then error('corrupt line record') end
      oq, oS, oc, ors, owo = tonumber(oq), tonumber(oS), tonumber(oc), tonumber(rss), tonumber(wos)
      ls = tonumber(ols) or 0
      local ols0 = ls
      if flags == 'L' then
        -- A local shipment: s is the line's locally shipped total; every
        -- other figure and the version stay as recorded.
        if s > ls then ls = s end
        qs, cs, ret, ver = n2s(oq), n2s(oc), ors + owo, over
        s, ss = oS, n2s(oS)
      end
      s, ss, cs = shipped(s, ss, qs, cs, ls)
      local cmp = vcmp(ver, over)
      if flags == 'L' then
        if ls > ols0 then cmp = 1 else cmp = 0 end
      end
      -- The same version further along (no figure lower, one higher:
      -- more ordered, shipped, cancelled or returned) is the later state of
      -- that version: a channel whose versions are whole seconds can change
      -- an order twice within one (a sale and its cancel, an edit and a
      -- cancel). Every figure of a line only grows over an order's life
      -- (connectors express removals as cancelled units, never as a lower
      -- quantity), so of two states of one version the one that dominates
      -- is the later; a state that does not is a duplicate, and nothing
      -- ever moves a line back within a version.
      if cmp == 0 then
        local q, c, oret = tonumber(qs), tonumber(cs), ors + owo
        if q >= oq and s >= oS and c >= oc and ret >= oret and (q > oq or s > oS or c > oc or ret > oret) then
          cmp = 1
        end
      end
      if cmp <= 0 then
        if cmp == 0 then status = 'd' else status = 's' end
        loc = oloc
        f = figs[loc] or fig(loc)
      elseif flags == 'L' then
        -- A local shipment stays on the line's location: the units it
        -- newly ships from another location leave that location's on hand
        -- and come off the line where its reservation is (moved across,
        -- then shipped there), so units that already left the line's
        -- location are never credited back to it.
        if given ~= '' and given ~= oloc and s > oS then
          local fo, fr = figs[oloc] or fig(oloc), figs[given] or fig(given)
          move(fr, given, oS - s, 0, ver, field)
          move(fo, oloc, s - oS, 0, ver, field)
        end
        loc = oloc
      end
    else
      oq, oS, oc, ors, owo = 0, 0, 0, 0, 0
      if flags == 'L' then
        -- A local shipment of a line the ledger does not hold: refused.
        status = 'r'
        if loc == '' then loc = ARGV[i + 10] end -- the first candidate (route)
        f = figs[loc] or fig(loc)
      end
    end
    local rn = qs - s - cs -- the state's reservation

    if not status then
      -- Returned units are split by policy at the moment they are first seen;
      -- a lower returned count (a corrected return) takes back from the
      -- current policy's pile first.
      local nrs, nwo = ors, owo
      local oret = ors + owo
      if ret ~= oret then
        local restock = flags == '1' or flags == '3'
        if ret > oret then
          if restock then nrs = nrs + (ret - oret) else nwo = nwo + (ret - oret) end
        else
          local d = oret - ret
          if restock then
            local t = math.min(d, nrs); nrs = nrs - t; nwo = nwo - (d - t)
          else
            local t = math.min(d, nwo); nwo = nwo - t; nrs = nrs - (d - t)
          end
        end
        rss, wos = n2s(nrs), n2s(nwo)
      end

      -- Location choice: the recorded one, else routed (route above).
      -- A new line's first journal entry names the rule (version:rule).
      if loc == '' then
        if oloc then
          loc = oloc
        else
          loc, step, rname = route(i, rn)
        end
      elseif not old then
        rname = 'channel'
      end
      if rname and not old then jv = ver .. ':' .. rname end
      f = figs[loc] or fig(loc)

      -- An unknown SKU is only checked when no figure read has proved it
      -- exists: the common path spends no extra call on it.
      if known == nil then known = call('EXISTS', skey) == 1 end
      if not known then
        status = 'u'
      else
        -- Every figure this line writes is read (and checked) before its
        -- first write, so corrupt data aborts the line before it half-moves.
        local of
        if oloc and oloc ~= loc then of = figs[oloc] or fig(oloc) end
        local ro, ho = oq - oS - oc, ors - oS -- the recorded contribution
        local hn = nrs - s
        local inc = rn
        if loc == oloc then inc = rn - ro end
        if (flags == '2' or flags == '3') and inc > 0 and inc > f[1] - f[2] then
          status = 'r' -- strict, and not enough available
        else
          status = 'n'
          if of then
            if ho ~= 0 or ro ~= 0 then move(of, oloc, -ho, -ro, ver, field); status = 'a' end
            if hn ~= 0 or rn ~= 0 then move(f, loc, hn, rn, ver, field); status = 'a' end
          elseif hn ~= ho or rn ~= ro then
            move(f, loc, hn - ho, rn - ro, jv, field); status = 'a'
          end
          if status == 'a' and not old then status = 'c' end
          -- Did this line lower available where its stock is? (A sale,
          -- a quantity edit up; shipping moves on_hand and reserved alike.)
          if status ~= 'n' then
            local da
            if of then da = hn - rn else da = (hn - ho) - (rn - ro) end
            if da < 0 then
              if status == 'a' then status = 'A' else status = 'C' end
            end
          end

          local rv = ver
          if ls > 0 then rv = ver .. ':' .. ls end
          local rec = rv .. ',' .. qs .. ',' .. ss .. ',' .. cs .. ',' .. rss .. ',' .. wos .. ',' .. loc
          if single then
            call('HSET', lkey, field, rec)
          else
            recs[field] = rec
            rw[nrw + 1], rw[nrw + 2] = field, rec
            nrw = nrw + 2
            -- unpack() has a limit; a large run writes its records in slices.
            if nrw >= 1000 then flush() end
          end

          -- Closed lines are remembered for the line TTL (so a late webhook
          -- cannot reopen them), then pruned a few at a time whenever a line
          -- closes.
          if rn == 0 then
            call('ZADD', xkey, now, field)
            local expired = call('ZRANGEBYSCORE', xkey, '-inf', cutoff, 'LIMIT', 0, 8)
            for _, e in ipairs(expired) do
              -- (never a record this run wrote: those are closed at now or open)
              if e ~= field then
              call('HDEL', lkey, e)
              if recs then recs[e] = false end
            end
              call('ZREM', xkey, e)
            end
          elseif old and ro == 0 then
            call('ZREM', xkey, field)
          end
        end
      end
    end

    n = n + 1
    if loc == given then
      if status == 'u' then out[n] = 'u;' else out[n] = status .. f[3] .. ',' .. f[4] .. ';' end
    else
      local tail = ';'
      if step then tail = '@' .. step .. ';' end
      if status == 'u' then
        out[n] = 'u=' .. #loc .. ':' .. loc .. tail
      else
        out[n] = status .. f[3] .. ',' .. f[4] .. '=' .. #loc .. ':' .. loc .. tail
      end
    end
    if given == '' then i = i + 9 + tonumber(ARGV[i + 8]) else i = i + 8 end
  end
end

-- A line that fails (only corrupt stored data can make it) fails before
-- it moves anything; the lines before it stay applied, as separate runs
-- would have left them, so their figures and records are written before
-- the error is raised again.
if single then
  run()
  signal(skey, sigr, sige, now)
else
  local ok, err = pcall(run)
  flush()
  signal(skey, sigr, sige, now)
  if not ok then error(err, 0) end
end
return reply(table.concat(out))
