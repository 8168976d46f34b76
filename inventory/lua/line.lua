-- line.lua sets order lines of one SKU to absolute states and moves only
-- the difference to the SKU's figures. The lines of one SKU in a batch share
-- one run: the per-call cost is paid once, and each line sees the writes of
-- the lines before it, exactly as separate runs in that order would.
-- KEYS: 1 stock hash, 2 line records hash, 3 closed-lines zset, 4 journal,
--       and with signals on 5 reorder hash, 6 pending signal events
-- ARGV: 1 now (ms), 2 prune cutoff (ms), 3 journal maxlen, 4 reorder
--       defaults (lib.lua sigdefs), then per line:
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
-- (0: none did, the first candidate); for a split line (below) "*" .. the
-- number of parts .. "|" .. the parts as the record holds them, the
-- figures and location being its last part's; then ";".
-- This is the ledger's hot path: it is written for the Lua VM's cost (no
-- closure or table per line, the rare paths' functions made only by the
-- runs that take them, figures kept as the stored digits, one reply
-- string), and every branch mirrors the README's semantics.
-- The functions below are made once and called by line() (at the end),
-- which sets all of this state at the start of every run: loaded as a
-- Redis Function library (FUNCTION LOAD) a run makes none of their
-- closures; sent as a script (EVAL; function.go runs line()'s body as the
-- script's own), every run makes them all, as any script's do.
local K, A -- the run's KEYS and ARGV
local skey, lkey, xkey, jkey, now, cutoff, maxlen, defs
-- redis.call, tonumber and string.match, set by line() (a Redis Function
-- library's code is loaded without them).
local call, tonum, match
-- Signal keys (nil: none; KEYS[5] = KEYS[1] stands for none: Options.NoSignals
-- with routing keys after them).
local sigr, sige

-- Figures are read once per run, as {on_hand, reserved, on_hand digits,
-- reserved digits, count version, dirty}, and kept current by move(): the
-- choice, the strict check, the moves and the results of every line share
-- them.
local known -- the SKU exists: set by the first figure found
local figs
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
local last, single, dirty, recs, rw, nrw

-- move moves a location's figures and journals it (movelib.lua has the
-- journal's format: here <rest> is "version,field␟location").
local function move(f, l, dh, dr, ver, field)
  local h0, r0 = f[3], f[4]
  local h, r, hs, rs = f[1] + dh, f[2] + dr, h0, r0
  if dh ~= 0 then hs = n2s(h) end
  if dr ~= 0 then rs = n2s(r) end
  call('XADD', jkey, 'MAXLEN', '~', maxlen, '*', 'm',
    'line,' .. h0 .. ',' .. r0 .. ',' .. hs .. ',' .. rs .. ',' .. now .. ',' .. ver .. ',' .. field .. '\31' .. l)
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

-- put_rec writes a line's record (a run of one line at once, else at the
-- run's end).
local function put_rec(field, rec)
  if single then
    call('HSET', lkey, field, rec)
  else
    recs[field] = rec
    rw[nrw + 1], rw[nrw + 2] = field, rec
    nrw = nrw + 2
    -- unpack() has a limit; a large run writes its records in slices.
    if nrw >= 1000 then flush() end
  end
end

-- Closed lines are remembered for the line TTL (so a late webhook cannot
-- reopen them), then pruned a few at a time whenever a line closes. rn:
-- what the line reserves now, ro: what it reserved before.
local function mark_closed(field, rn, old, ro)
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

-- Routing by steps and split lines are the rare paths: their functions
-- are made by more() when a run first needs them, not by every run (each
-- function a script defines is a closure made on every call). A run calls
-- more() before it uses any of them; after the first call it does nothing.
local route_steps, split_line, parse_parts
local function more()
  if route_steps then return end
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
    local v = call('HGET', K[k], l)
    if not v then return 0 end
    local hs, rs = match(v, '^(-?%d+),(-?%d+)')
    if not hs then error('corrupt stock figures at location ' .. l) end
    return tonum(hs) - tonum(rs)
  end

  local function rec_loc(k, fld)
    local rec
    if k == 2 and recs then rec = recs[fld] else rec = call('HGET', K[k], fld) end
    if not rec then return nil end
    local sp, rl = match(rec, '^[^,]-(%*?),%d+,%d+,%d+,%d+,%d+,(.+)$')
    if sp == '*' then return true end -- split: at no one location
    return rl
  end

  local function whole(l, rn, a, m)
    local need = {[1] = rn}
    for q = a, a + 4 * (m - 1), 4 do
      local rl = rec_loc(tonum(A[q + 1]), A[q + 2])
      if rl then
        if rl ~= l then return false end
      else
        local sk = tonum(A[q])
        need[sk] = (need[sk] or 0) + tonum(A[q + 3])
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
      local l = A[k]
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

  -- Split lines (README "Splitting a line"). A step of kind 'p' (only sent
  -- when config allows splitting) takes, when the line has units to
  -- reserve, what is available at each of its locations in order until the
  -- line is covered; what no location covers goes to the last part (an
  -- oversell counted there); no location with any available: it passes.
  -- One part is no split: the line takes that location. A split line's
  -- record marks its version "*" and holds, instead of one location, its
  -- parts "<#location>:<location>=<units>;" (units: what the part took). A
  -- split line's figures are spread by its totals, never by history, so a
  -- repeat or a reordering of states moves nothing twice (shares below).
  local function split_step(a, b, rn)
    if rn <= 0 then return nil end
    local parts, need = {}, rn
    for k = a, b do
      if need <= 0 then break end
      local l = A[k]
      local f = figs[l] or fig(l)
      local av = f[1] - f[2]
      if av > 0 then
        local take = av
        if take > need then take = need end
        parts[#parts + 1] = {l, take}
        need = need - take
      end
    end
    if #parts == 0 then return nil end
    parts[#parts][2] = parts[#parts][2] + need
    return parts
  end

  local function enc_parts(parts)
    local t = {}
    for k, p in ipairs(parts) do t[k] = #p[1] .. ':' .. p[1] .. '=' .. n2s(p[2]) .. ';' end
    return table.concat(t)
  end

  parse_parts = function(v)
    local parts, pos = {}, 1
    while pos <= #v do
      local c = string.find(v, ':', pos, true)
      local n = c and tonum(string.sub(v, pos, c - 1))
      if not n or n < 1 or string.sub(v, c + n + 1, c + n + 1) ~= '=' then error('corrupt split line record') end
      local e = string.find(v, ';', c + n + 2, true)
      local u = e and match(string.sub(v, c + n + 2, e - 1), '^%d+$')
      if not u then error('corrupt split line record') end
      parts[#parts + 1] = {string.sub(v, c + 1, c + n), tonum(u)}
      pos = e + 1
    end
    if #parts < 2 then error('corrupt split line record') end
    return parts
  end

  -- shares spreads a split line's totals over its parts: ordered units fill
  -- the parts in order up to what each took (the last takes the rest),
  -- shipped units (and of them the restocked ones) leave from the first
  -- parts first, cancelled units come off the last parts first (where an
  -- oversell would be). Returns per part {on_hand effect, reserved}.
  local function shares(parts, q, s, c, rs)
    local np, out, left = #parts, {}, {}
    for k = 1, np do
      local x = q
      if k < np and parts[k][2] < x then x = parts[k][2] end
      q = q - x
      local y = math.min(x, s)
      s = s - y
      local z = math.min(y, rs)
      rs = rs - z
      out[k] = {z - y, 0}
      left[k] = x - y
    end
    for k = np, 1, -1 do
      local z = math.min(left[k], c)
      c = c - z
      out[k][2] = left[k] - z
    end
    return out
  end

  -- acc adds sign times each part's share to the per-location sums d
  -- (location -> {on hand, reserved}), keeping the locations' order in ls.
  local function acc(d, ls, parts, sh, sign)
    for k, p in ipairs(parts) do
      local l = p[1]
      if not d[l] then ls[#ls + 1] = l; d[l] = {0, 0} end
      d[l][1] = d[l][1] + sign * sh[k][1]
      d[l][2] = d[l][2] + sign * sh[k][2]
    end
  end

  -- split_line applies a state to a line that is split or becomes split:
  -- op its recorded parts (nil: a new line) and o its recorded totals
  -- {ordered, shipped, cancelled, restocked}; np its parts from now on (one
  -- part: the line collapses to that location); t the new totals; rec the
  -- record to write (its location part added here); status set already
  -- (duplicate, stale) moves nothing. Every location's figures move by the
  -- difference of the line's shares there, so the moves are a function of
  -- the two states alone. Returns the line's reply.
  split_line = function(field, status, op, o, np, t, rec, ver, jv, strict, old, step, given)
    local d, ls = {}, {}
    if not status then
      if op then acc(d, ls, op, shares(op, o[1], o[2], o[3], o[4]), -1) end
      acc(d, ls, np, shares(np, t[1], t[2], t[3], t[4]), 1)
      status = 'n'
      for _, l in ipairs(ls) do
        local f = figs[l] or fig(l)
        if strict and d[l][2] > 0 and d[l][2] > f[1] - f[2] then status = 'r' end
      end
    end
    if status == 'n' then
      local lowered = false
      for _, l in ipairs(ls) do
        local dh, dr = d[l][1], d[l][2]
        if dh ~= 0 or dr ~= 0 then
          local v = ver
          if not op then v = jv end
          move(figs[l], l, dh, dr, v, field)
          status = 'a'
          if dh - dr < 0 then lowered = true end
        end
      end
      if status == 'a' and not old then status = 'c' end
      if lowered then status = string.upper(status) end
      local rn, ro = t[1] - t[2] - t[3], 0
      if o then ro = o[1] - o[2] - o[3] end
      if #np > 1 then
        put_rec(field, rec .. enc_parts(np))
      else
        put_rec(field, string.gsub(rec, '^([^,]*)%*,', '%1,', 1) .. np[1][1])
      end
      mark_closed(field, rn, old, ro)
    end
    local parts = np
    if status == 'd' or status == 's' or status == 'r' then parts = op or np end
    local loc = parts[#parts][1]
    local f = figs[loc] or fig(loc)
    local r = status .. f[3] .. ',' .. f[4]
    if #parts == 1 and loc == given then return r .. ';' end
    r = r .. '=' .. #loc .. ':' .. loc
    if step then r = r .. '@' .. step end
    if #parts > 1 then r = r .. '*' .. #parts .. '|' .. enc_parts(parts) end
    return r .. ';'
  end

  -- route_steps walks the routing steps of a line (route below).
  route_steps = function(e, nc, c0, rn)
    local j, step = c0 + nc, 0
    while j <= e do
      step = step + 1
      local kind, name = string.sub(A[j], 1, 1), string.sub(A[j], 2)
      local n = tonum(A[j + 1])
      local a, b, nx = j + 2, j + 1 + n, j + 2 + n
      if n == 0 then a, b = c0, c0 + nc - 1 end
      local m = 0
      if kind == 's' then m = tonum(A[nx]); nx = nx + 1 + 4 * m end
      if kind == 'p' then
        local parts = split_step(a, b, rn)
        if parts and #parts == 1 then return parts[1][1], step, name end
        if parts then return parts[#parts][1], step, name, parts end
      else
        local l = pick_step(kind, a, b, rn, j + 3 + n, m)
        if l then return l, step, name end
      end
      j = nx
    end
    return A[c0], 0, 'fallback'
  end
end

-- route returns the location of the new line whose arguments start at i,
-- the number of the step that chose it (0: none) and the step's rule,
-- and for a split the parts (the location is then the last part's).
-- Without steps (no routing rules, the common case) it is 'f' over the
-- candidates, done here.
local function route(i, rn)
  local e = i + 8 + tonum(A[i + 8])
  local nc = tonum(A[i + 9])
  local c0 = i + 10
  if c0 + nc > e then
    for k = c0, c0 + nc - 1 do
      local l = A[k]
      local f = figs[l] or fig(l)
      if f[1] - f[2] >= rn then return l, 1, 'priority' end
    end
    return A[c0], 0, 'fallback'
  end
  more()
  return route_steps(e, nc, c0, rn)
end

local out, n, i
local function run()
  while i <= last do
    local field, given = A[i], A[i + 1]
    repeat -- a line; break ends it (its reply written)
    local qs, ss, cs = A[i + 2], A[i + 3], A[i + 4]
    local s, ret = tonum(ss), tonum(A[i + 5])
    local ver, flags = A[i + 6], A[i + 7]
    local loc, status, f = given, nil, nil
    local step, rname, jv = nil, nil, ver -- routing step, its rule, journal version

    local old
    if single then old = call('HGET', lkey, field) else old = recs[field] end
    local oq, oS, oc, ors, owo, oloc, osp, oparts
    local rss, wos = '0', '0' -- the returned split, written back as stored unless it moves
    -- ls: the units shelfsync itself shipped (sync/shipments), kept beside
    -- the version as "version:ls" when not 0. The line's shipped figure is
    -- max(what the channel says, ls): a channel state that has not seen the
    -- shipment yet does not undo it, and the channel's own report of it
    -- does not count it twice.
    local ls = 0
    if old then
      local over, ols
      over, ols, osp, oq, oS, oc, rss, wos, oloc = match(old, '^(%d+):?(%d*)(%*?),(%d+),(%d+),(%d+),(%d+),(%d+),(.+)$')
      if not over then error('corrupt line record') end
      if osp == '*' then
        more()
        oparts = parse_parts(oloc)
      end
      oq, oS, oc, ors, owo = tonum(oq), tonum(oS), tonum(oc), tonum(rss), tonum(wos)
      ls = tonum(ols) or 0
      local ols0 = ls
      if flags == 'L' then
        -- A local shipment: s is the line's locally shipped total; every
        -- other figure and the version stay as recorded.
        if s > ls then ls = s end
        qs, cs, ret, ver = n2s(oq), n2s(oc), ors + owo, over
        s, ss = oS, n2s(oS)
      end
      -- The locally shipped units ls count as shipped: max(s, ls), at most
      -- the ordered units; cancelled units give way to shipped ones (units
      -- that left can not be cancelled).
      if ls > s then
        local q = tonum(qs)
        local x = ls
        if x > q then x = q end
        if x > s then
          if x + tonum(cs) > q then cs = n2s(q - x) end
          s, ss = x, n2s(x)
        end
      end
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
        local q, c, oret = tonum(qs), tonum(cs), ors + owo
        if q >= oq and s >= oS and c >= oc and ret >= oret and (q > oq or s > oS or c > oc or ret > oret) then
          cmp = 1
        end
      end
      if cmp <= 0 then
        if cmp == 0 then status = 'd' else status = 's' end
        if oparts then
          n = n + 1
          out[n] = split_line(field, status, oparts, nil, oparts, nil, nil, ver, jv, false, old, nil, given)
          break
        end
        loc = oloc
        f = figs[loc] or fig(loc)
      elseif flags == 'L' and not oparts then
        -- A local shipment stays on the line's location: the units it
        -- newly ships from another location leave that location's on hand
        -- and come off the line where its reservation is (moved across,
        -- then shipped there), so units that already left the line's
        -- location are never credited back to it. (A split line's shipped
        -- units are spread over its parts like the channel's.)
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
        if loc == '' then loc = A[i + 10] end -- the first candidate (route)
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
      local parts = oparts
      if loc == '' then
        if oloc then
          loc = oloc
        else
          loc, step, rname, parts = route(i, rn)
        end
      elseif not old then
        rname = 'channel'
      end
      if rname and not old then jv = ver .. ':' .. rname end
      local rv = ver
      if ls > 0 then rv = ver .. ':' .. ls end

      -- A split line (or one that becomes split) moves by its shares.
      -- A state naming a location (not a local shipment) gathers a split
      -- line there.
      if parts then
        local np = parts
        if oparts and given ~= '' and flags ~= 'L' then np = {{given, 0}} end
        local o
        if old then o = {oq, oS, oc, ors} end
        n = n + 1
        out[n] = split_line(field, nil, oparts, o, np, {tonum(qs), s, tonum(cs), nrs},
          rv .. '*,' .. qs .. ',' .. ss .. ',' .. cs .. ',' .. rss .. ',' .. wos .. ',',
          ver, jv, flags == '2' or flags == '3', old, step, given)
        break
      end
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

          put_rec(field, rv .. ',' .. qs .. ',' .. ss .. ',' .. cs .. ',' .. rss .. ',' .. wos .. ',' .. loc)
          mark_closed(field, rn, old, ro)
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
    until true
    if given == '' then i = i + 9 + tonum(A[i + 8]) else i = i + 8 end
  end
end

-- line runs the script for keys and args (KEYS and ARGV above). A line
-- that fails (only corrupt stored data can make it) fails before it moves
-- anything; the lines before it stay applied, as separate runs would have
-- left them, so their figures and records are written before the error is
-- raised again.
local function line(keys, args)
  K, A, call, tonum, match = keys, args, redis.call, tonumber, string.match
  skey, lkey, xkey, jkey = keys[1], keys[2], keys[3], keys[4]
  now, cutoff, maxlen, defs = args[1], args[2], args[3], args[4]
  sigr, sige = keys[5], keys[6]
  if sigr == skey then sigr, sige = nil, nil end
  signaled, known, figs, out, n, i = false, nil, {}, {}, 0, 5
  last = #args
  single = last == 12 and args[6] ~= ''
  if args[6] == '' then single = last == 13 + tonum(args[13]) end
  dirty, recs, rw, nrw = nil, nil, nil, 0
  local ok, err = true, nil
  if single then
    run()
  else
    dirty = {} -- locations whose figures moved, in order
    recs = {} -- field -> its record (false: none), read up front, kept current
    rw = {} -- HSET arguments of the records this run wrote
    -- One HMGET per 500 lines instead of one HGET per line (unpack() has a
    -- limit).
    local fields, nf, j = {}, 0, 5
    while j <= last do
      nf = nf + 1
      fields[nf] = args[j]
      if args[j + 1] == '' then j = j + 9 + tonum(args[j + 8]) else j = j + 8 end
    end
    for a = 1, nf, 500 do
      local b = math.min(a + 499, nf)
      local got = call('HMGET', lkey, unpack(fields, a, b))
      for k = a, b do recs[fields[k]] = got[k - a + 1] end
    end
    ok, err = pcall(run)
    flush()
  end
  signal(skey, sigr, sige, now, defs)
  if not ok then error(err, 0) end
  return reply(table.concat(out))
end
