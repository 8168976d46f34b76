-- lib.lua is prepended to every ledger script (Go concatenates the two
-- before hashing), so the figure and journal formats live in one place.
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

local function n2s(n)
  return string.format('%d', n)
end

-- One location's figures are one hash field: "onhand,reserved[,countversion]".
local function getfig(skey, loc)
  local v = redis.call('HGET', skey, loc)
  if not v then return 0, 0, '', false end
  local h, r, cv = string.match(v, '^(-?%d+),(-?%d+),?(%d*)$')
  if not h then
    error('corrupt stock figures at location ' .. loc)
  end
  return tonumber(h), tonumber(r), cv, true
end

local function putfig(skey, loc, h, r, cv)
  local v = n2s(h) .. ',' .. n2s(r)
  if cv ~= '' then v = v .. ',' .. cv end
  redis.call('HSET', skey, loc, v)
end

-- Every movement is appended in the same script run as the change itself,
-- so the journal can never disagree with the figures it explains.
local function journal(jkey, maxlen, now, op, cause, ref, loc, h0, r0, h1, r1)
  redis.call('XADD', jkey, 'MAXLEN', '~', maxlen, '*',
    'o', op, 'c', cause, 'f', ref, 'l', loc,
    'h0', n2s(h0), 'r0', n2s(r0), 'h1', n2s(h1), 'r1', n2s(r1), 't', now)
end

