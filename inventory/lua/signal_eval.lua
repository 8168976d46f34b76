-- signal_eval.lua evaluates one SKU's signal state against its figures as
-- they are (lib.lua signal): the re-evaluation pass after a default
-- reorder point changed (reorder_defaults.go). A SKU whose state the
-- change moves gets its events, once: a second pass finds it settled.
-- KEYS: 1 stock hash, 2 reorder hash, 3 pending signal events
-- ARGV: 1 now (ms), 2 reorder defaults (lib.lua sigdefs)
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown_sku' end
signal(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
return reply('ok')
