-- line.lua sets order lines of one SKU to absolute states and moves only
-- the difference to the SKU's figures. The lines of one SKU in a batch share
-- one run: the per-call cost is paid once, and each line sees the writes of
-- the lines before it, exactly as separate runs in that order would.
-- KEYS: 1 stock hash, 2 line records hash, 3 closed-lines zset, 4 journal
-- ARGV: 1 now (ms), 2 prune cutoff (ms), 3 journal maxlen, then per line:
--       record field, journal ref, location ('' = choose), ordered, shipped,
--       cancelled, returned, restock '1'|'0', version, strict '1'|'0',
--       number of candidates, the candidate locations in priority order.
-- Returns one {status, location, available, oversold} per line.
local skey, lkey, xkey, jkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cutoff, maxlen = ARGV[1], ARGV[2], ARGV[3]

-- Figures are read once per run and kept current by move(): the choice,
-- the strict check and the moves of every line share them.
local known = nil
local figs = {}
local function fig(l)
  local f = figs[l]
  if not f then
    local h, r, cv, found = getfig(skey, l)
    if found then known = true end
    f = {h, r, cv}
    figs[l] = f
  end
  return f
end
local function avail(l)
  local f = fig(l)
  return f[1] - f[2]
end
local function result(status, l)
  local a = avail(l)
  local o = 0
  if a < 0 then o = -a end
  return {status, l, a, o}
end
-- An unknown SKU is only checked when no figure read has proved it exists:
-- the common path spends no extra call on it.
local function exists()
  if known == nil then known = redis.call('EXISTS', skey) == 1 end
  return known
end

local function apply(b, ncand)
  local field, ref, loc = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  local q, s, c, ret = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
  local restock = ARGV[b + 7] == '1'
  local ver = ARGV[b + 8]
  local strict = ARGV[b + 9] == '1'

  local old = redis.call('HGET', lkey, field)
  local oq, oS, oc, ors, owo, oloc = 0, 0, 0, 0, 0, nil
  if old then
    local over
    over, oq, oS, oc, ors, owo, oloc = string.match(old, '^(%d+),(%d+),(%d+),(%d+),(%d+),(%d+),(.+)$')
    if not over then error('corrupt line record') end
    oq, oS, oc, ors, owo = tonumber(oq), tonumber(oS), tonumber(oc), tonumber(ors), tonumber(owo)
    local cmp = vcmp(ver, over)
    if cmp == 0 then return result('duplicate', oloc) end
    if cmp < 0 then return result('stale', oloc) end
  end

  -- Returned units are split by policy at the moment they are first seen;
  -- a lower returned count (a corrected return) takes back from the
  -- current policy's pile first.
  local nrs, nwo = ors, owo
  local oret = ors + owo
  if ret > oret then
    if restock then nrs = nrs + (ret - oret) else nwo = nwo + (ret - oret) end
  elseif ret < oret then
    local d = oret - ret
    if restock then
      local t = math.min(d, nrs); nrs = nrs - t; nwo = nwo - (d - t)
    else
      local t = math.min(d, nwo); nwo = nwo - t; nrs = nrs - (d - t)
    end
  end

  local rn = q - s - c
  if loc == '' then
    if oloc then
      loc = oloc
    else
      for i = b + 11, b + 10 + ncand do
        if avail(ARGV[i]) >= rn then loc = ARGV[i]; break end
      end
      if loc == '' then loc = ARGV[b + 11] end
    end
  end

  avail(loc)
  if not exists() then return {'unknown_sku', loc, 0, 0} end
  -- Every figure this line writes is read (and checked) before its first
  -- write, so corrupt data aborts the line before it half-moves.
  if oloc and oloc ~= loc then fig(oloc) end

  local ro, ho = oq - oS - oc, ors - oS
  local hn = nrs - s
  if strict then
    local inc = rn
    if loc == oloc then inc = rn - ro end
    if inc > 0 and inc > avail(loc) then return result('refused', loc) end
  end

  local moved = false
  local cause = 'v=' .. ver
  local function move(l, dh, dr)
    if dh == 0 and dr == 0 then return end
    local f = fig(l)
    local h, r = f[1], f[2]
    putfig(skey, l, h + dh, r + dr, f[3])
    journal(jkey, maxlen, now, 'line', cause, ref, l, h, r, h + dh, r + dr)
    f[1], f[2] = h + dh, r + dr
    moved = true
  end
  if oloc and oloc ~= loc then
    move(oloc, -ho, -ro)
    move(loc, hn, rn)
  else
    move(loc, hn - ho, rn - ro)
  end

  redis.call('HSET', lkey, field, ver .. ',' .. n2s(q) .. ',' .. n2s(s) .. ',' .. n2s(c) .. ',' .. n2s(nrs) .. ',' .. n2s(nwo) .. ',' .. loc)

  -- Closed lines are remembered for the operation TTL (so a late webhook
  -- cannot reopen them), then pruned a few at a time whenever a line closes.
  if rn == 0 then
    redis.call('ZADD', xkey, now, field)
    local expired = redis.call('ZRANGEBYSCORE', xkey, '-inf', cutoff, 'LIMIT', 0, 8)
    for _, f in ipairs(expired) do
      if f ~= field then redis.call('HDEL', lkey, f) end
      redis.call('ZREM', xkey, f)
    end
  elseif old and ro == 0 then
    redis.call('ZREM', xkey, field)
  end

  if moved then return result('applied', loc) end
  return result('nochange', loc)
end

local out = {}
local b = 4
while b <= #ARGV do
  local ncand = tonumber(ARGV[b + 10])
  out[#out + 1] = apply(b, ncand)
  b = b + 11 + ncand
end
return out
