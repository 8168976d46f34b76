-- signal_ack.lua removes a SKU's pending signal events up to and including
-- the sequence number the sweeper moved downstream; later ones stay.
-- KEYS: 1 pending signal events; ARGV: 1 the last sequence number moved.
-- Returns how many were removed.
local upto, n = tonumber(ARGV[1]), 0
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local s = tonumber(string.match(head, '^(%d+) '))
  if not s or s > upto then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
