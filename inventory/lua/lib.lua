-- lib.lua is prepended to every ledger script (Go concatenates them
-- before hashing), so the figure and signal formats live in one place;
-- movelib.lua follows it in the scripts that journal other movements than
-- order lines. Each function a script defines is a closure made on every
-- run, so a script includes only the parts it uses.
-- Everything here touches only the keys the calling script was given.

-- Versions are non-negative decimal integers without leading zeros, passed
-- as strings: Lua numbers are doubles and would round nanosecond versions.
local function vcmp(a, b)
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  if a == b then return 0 end
  if a < b then return -1 end
  return 1
end

-- '%d' prints every integer a double holds exactly ('..' would print
-- '%.14g', which rounds beyond 14 digits). (No top-level alias of
-- string.format: a Redis Function library's code is loaded without the
-- standard libraries, line.lua.)
local function n2s(n)
  return string.format('%d', n)
end

-- One location's figures are one hash field: "onhand,reserved[,countversion]".
-- getfig returns on_hand and reserved as numbers and as the stored digits
-- (a figure that does not change is written back as read, never reformatted),
-- the count version, and whether the location exists.
local function getfig(skey, loc)
  local v = redis.call('HGET', skey, loc)
  if not v then return 0, 0, '0', '0', '', false end
  local hs, rs, cv = string.match(v, '^(-?%d+),(-?%d+),?(%d*)$')
  if not hs then
    error('corrupt stock figures at location ' .. loc)
  end
  return tonumber(hs), tonumber(rs), hs, rs, cv, true
end

-- putfig takes on_hand and reserved as decimal strings.
local function putfig(skey, loc, hs, rs, cv)
  if cv == '' then
    redis.call('HSET', skey, loc, hs .. ',' .. rs)
  else
    redis.call('HSET', skey, loc, hs .. ',' .. rs .. ',' .. cv)
  end
end

-- Stock signals (signals.go). rkey is the SKU's reorder hash, ekey its
-- list of events not yet moved downstream; a run given neither
-- (Options.NoSignals) skips this. rkey holds "p:<location>" =
-- "point,qty" per location, P and Q their sums (P absent: no signals for
-- this SKU), st the state ('' above the point and armed, 'low', 'out')
-- and seq the last event's sequence number. signal is called once at the
-- end of a run, after its figures are written: the figures it reports are
-- the ones the run left, and a crossing made and undone within one run
-- (nobody saw it) is none. Each transition appends "<seq> <type> <json>"
-- to ekey (the sweeper adds the SKU and the id); type rearm (low and back
-- above the point) is kept for the counts, not published.
-- signaled says this run appended an event, or left the SKU for the
-- sweeper to evaluate (signal: defaults older than the SKU's, or unknown);
-- reply() then wraps the script's reply as {'!signal', reply}, and the
-- ledger (pipeline.go) marks the SKU in the pending signals index
-- ({signals}, another slot) after the run, so the sweeper finds it without
-- scanning.
local signaled = false

local function reply(x)
  if signaled then return {'!signal', x} end
  return x
end

local function sigpush(rkey, ekey, typ, now, st, a, h, r, c)
  signaled = true
  local seq = redis.call('HINCRBY', rkey, 'seq', 1)
  local q = ''
  if c[2] then q = ',"reorder_qty":' .. c[2] end
  redis.call('RPUSH', ekey, seq .. ' ' .. typ .. ' {"type":"' .. typ .. '","seq":' .. seq
    .. ',"state":"' .. st .. '","available":' .. n2s(a) .. ',"on_hand":' .. n2s(h)
    .. ',"reserved":' .. n2s(r) .. ',"reorder_point":' .. c[1] .. q .. ',"at":' .. now .. '}')
end

-- Default reorder points (reorder_defaults.go) live in a key of their own
-- (another slot), so no script reads them: Go passes the ledger's cached
-- copy in one argument, defs: '' (none ever set), or "<version>;" then per
-- default "<#location>:<location><point>,<qty>;" (qty '' for none; location
-- '*' for every location), or '?': the ledger could not read them (its copy
-- is missing or too old). sigdefs returns the version (nil for '?') and the
-- defaults by location (nil when there are none).
local function sigdefs(s)
  if not s or s == '' then return 0, nil end
  if s == '?' then return nil, nil end
  local v, i = string.match(s, '^(%d+);()')
  if not v then error('corrupt reorder defaults argument') end
  local m, any = {}, false
  while i <= #s do
    local n, j = string.match(s, '^(%d+):()', i)
    if not n then error('corrupt reorder defaults argument') end
    local e = j + tonumber(n)
    local ps, qs, k = string.match(s, '^(%d+),(%d*);()', e)
    if not ps then error('corrupt reorder defaults argument') end
    local d = {tonumber(ps), false}
    if qs ~= '' then d[2] = tonumber(qs) end
    m[string.sub(s, j, e - 1)] = d
    any = true
    i = k
  end
  if not any then m = nil end
  return tonumber(v), m
end

-- signal evaluates the SKU's state against its effective reorder point:
-- the sum of its own points (P, every location it set one at) plus, at
-- each location in its stock hash (it has figures there, zero included)
-- without an own point, the default of that location, else the default
-- '*'. rkey's dv is the defaults version the state was last moved with: a
-- run given older defaults (a replica that has not refreshed yet) or none
-- it could trust ('?') does not move the state, so two replicas never undo
-- each other's move; it sets re in rkey instead and has the SKU marked
-- (signaled), and the sweeper evaluates it again with defaults read then
-- (signal_eval.lua), so the crossing it may have made is not lost. Any
-- run with current defaults evaluates the SKU and clears re.
local function signal(skey, rkey, ekey, now, defs)
  if not ekey then return end
  local c = redis.call('HMGET', rkey, 'P', 'Q', 'st', 'dv', 're')
  local v, dm = sigdefs(defs)
  local dv = tonumber(c[4]) or 0
  if not v or v < dv then
    if not c[5] then redis.call('HSET', rkey, 're', '1') end
    signaled = true
    return
  end
  if c[5] then redis.call('HDEL', rkey, 're') end
  local st = c[3] or ''
  local h, r = 0, 0
  local p, q = tonumber(c[1]), c[2]
  if not p and not dm and st == '' then return end -- no point: no signals
  if not dm then
    for _, x in ipairs(redis.call('HVALS', skey)) do
      local hs, rs = string.match(x, '^(-?%d+),(-?%d+)')
      if hs then h, r = h + tonumber(hs), r + tonumber(rs) end
    end
  else
    local own = nil
    if p then own = redis.call('HGETALL', rkey) end
    local ownat = {}
    if own then
      for i = 1, #own, 2 do
        if string.sub(own[i], 1, 2) == 'p:' then ownat[string.sub(own[i], 3)] = true end
      end
    end
    local qn = tonumber(q)
    local all = redis.call('HGETALL', skey)
    for i = 1, #all, 2 do
      local hs, rs = string.match(all[i + 1], '^(-?%d+),(-?%d+)')
      if hs then
        h, r = h + tonumber(hs), r + tonumber(rs)
        local loc = all[i]
        if not ownat[loc] then
          local d = dm[loc] or dm['*']
          if d then
            p = (p or 0) + d[1]
            if d[2] then qn = (qn or 0) + d[2] end
          end
        end
      end
    end
    if qn then q = n2s(qn) end
    if p then c[1] = n2s(p) end
  end
  c[2] = q
  local ns = ''
  local a = h - r
  if not p and st == '' then return end
  -- The first run with newer defaults records their version, moved or
  -- not, so no run with older ones moves the state after it.
  if v > dv then redis.call('HSET', rkey, 'dv', v) end
  if not p then
    -- No point (own or default) any more: signals stop, the state is
    -- forgotten (an internal rearm carries '' to the sweeper).
    redis.call('HDEL', rkey, 'st')
    sigpush(rkey, ekey, 'rearm', now, '', a, h, r, {'0'})
    return
  end
  if a <= 0 then ns = 'out' elseif a <= p then ns = 'low' end
  if ns == st then return end
  redis.call('HSET', rkey, 'st', ns)
  if st == 'out' then
    sigpush(rkey, ekey, 'stock.back', now, ns, a, h, r, c)
  elseif ns == '' then
    sigpush(rkey, ekey, 'rearm', now, ns, a, h, r, c)
  else
    if st == '' and p > 0 then sigpush(rkey, ekey, 'stock.low', now, ns, a, h, r, c) end
    if ns == 'out' then sigpush(rkey, ekey, 'stock.out', now, ns, a, h, r, c) end
  end
end
