-- signal_eval.lua evaluates one SKU's signal state against its figures as
-- they are (lib.lua signal): the re-evaluation pass after a default
-- reorder point changed (reorder_defaults.go). A SKU whose state the
-- change moves gets its events, once: a second pass finds it settled.
-- With ARGV 3 '1' only a SKU a run left for the sweeper (re in its reorder
-- hash: that run's defaults were older than the SKU's, or unknown) is
-- evaluated; the others answer 'ok' untouched.
-- KEYS: 1 stock hash, 2 reorder hash, 3 pending signal events
-- ARGV: 1 now (ms), 2 reorder defaults (lib.lua sigdefs), 3 '1': only if
--       left for the sweeper
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[2], 're') == 0 then return 'ok' end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown_sku' end
signal(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
return reply('ok')
