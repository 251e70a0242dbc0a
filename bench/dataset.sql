-- Rows :lo to :hi of :n events over the 30 days before now, spread evenly; the mix of a busy API:
-- 6 operation types, 4 sources, 1,000 operators, 20 tenants, 5% failures,
-- 2% warnings; every event has a request id.
insert into public.audit_events (id, "timestamp", source, operator, operation_type, result, message,
  extra_info, severity, tenant_id, actor_type, request_id)
select gen_random_uuid(),
  now() - (i::float8 / :n) * interval '30 days',
  (array['api-service', 'frontend', 'worker', 'system'])[1 + i % 4],
  'user' || (i % 1000) || '@example.com',
  (array['stock_price_download', 'scan_process', 'config_update', 'user_login', 'report_export', 'api_key_rotate'])[1 + (i * 7) % 6],
  case when i % 20 = 0 then 'failure' when i % 50 = 1 then 'warning' else 'success' end,
  'Processed request ' || i || ' for ' || (array['AAPL', 'MSFT', 'GOOG', 'AMZN'])[1 + i % 4],
  jsonb_build_object('symbol', (array['AAPL', 'MSFT', 'GOOG', 'AMZN'])[1 + i % 4], 'records_count', i % 500),
  case when i % 20 = 0 then 'error' when i % 50 = 1 then 'warning' else 'info' end,
  'tenant-' || (i % 20),
  'user',
  'req-' || i
from generate_series(:lo, :hi) as i;
