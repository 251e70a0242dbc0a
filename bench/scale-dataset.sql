-- Rows :lo to :hi of :n events over the :days days before now, oldest first, evenly spread, as a
-- busy service writes them (bench/scale.ts, `pnpm bench --scale`). Each row's draws are hashes of
-- its number, so a size always gives the same mix (ids and request ids have random tails):
--   id           UUIDv7 of the timestamp, as the library makes them
--   source       8 sources, 40% api-service down to 1% system
--   operation    200 types, log-uniform rank (a long tail): api_request 13%, page_view 7.6%,
--                user_login 5.4% … action_200 0.09%
--   operator     25% a service account per source; else one of 5,000 users, log-uniform rank
--                (user1 16%, user42 0.3% of the users' events)
--   tenant_id    200 tenants, log-uniform rank (tenant-1 13%, tenant-7 2.5%)
--   result       90% success, 8% failure, 2% warning; severity from it (10% debug / critical)
--   message      "<operation> <completed|failed|retried> for <ticker> in <n> ms (ref <10 hex digits>)",
--                failures with an error phrase: a ticker is a common word (MSFT 1 in 8), a ref is
--                a word of one event
--   extra_info   flat object: ticker, duration_ms, records_count, region (+ error_code)
--   resource     40% of rows; request_id a UUIDv7 text; users have an ip_address and a user agent
insert into public.audit_events (id, "timestamp", source, operator, operation_type, result, message,
  extra_info, severity, tenant_id, actor_type, resource_type, resource_id, request_id, ip_address, user_agent)
select
  (substr(ms, 1, 8) || '-' || substr(ms, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16))::uuid,
  t, source, operator, op, result,
  op || ' ' || verb || ' for ' || ticker || ' in ' || duration || ' ms (ref ' || ref || ')'
    || case when result = 'failure' then ': ' || err else '' end,
  jsonb_build_object('ticker', ticker, 'duration_ms', duration, 'records_count', (u8 * 500)::int,
    'region', (array['eu-west-1', 'us-east-1', 'us-west-2', 'ap-south-1'])[1 + (u9 * 4)::int % 4])
    || case when result = 'failure' then jsonb_build_object('error_code', 'E' || (400 + (u9 * 200)::int)) else '{}'::jsonb end,
  case result when 'success' then case when u7 < 0.1 then 'debug' else 'info' end
              when 'failure' then case when u7 < 0.1 then 'critical' else 'error' end
              else 'warning' end,
  'tenant-' || tenant,
  case when svc then 'service' when u7 > 0.97 then 'admin' else 'user' end,
  case when u8 < 0.4 then (array['document', 'account', 'report'])[1 + (u8 * 30)::int % 3] end,
  case when u8 < 0.4 then 'res-' || (u9 * 1000000)::int end,
  substr(ms, 1, 8) || '-' || substr(ms, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16),
  case when not svc then ('10.' || (usr >> 8 & 255) || '.' || (usr & 255) || '.' || (1 + (u9 * 250)::int))::inet end,
  case when svc then 'audit-client/1.4 (node 20)'
       else (array['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
                   'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
                   'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'])[1 + usr % 3] end
from (
  select *,
    lpad(to_hex((extract(epoch from t) * 1000)::bigint), 12, '0') as ms,
    (array['api_request', 'page_view', 'user_login', 'record_read', 'record_update', 'stock_price_download',
           'scan_process', 'config_update', 'report_export', 'user_logout', 'permission_check', 'api_key_rotate'])[rank]
      as op0,
    case when svc then 'svc-' || source else 'user' || usr || '@example.com' end as operator,
    case when u6 < 0.90 then 'success' when u6 < 0.98 then 'failure' else 'warning' end as result,
    (array['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'ORCL'])[1 + (u8 * 8)::int % 8] as ticker,
    (1 + u9 * u9 * 2000)::int as duration,
    lpad(to_hex(hashint8extended(i, 10) & 1099511627775), 10, '0') as ref,
    (array['timeout', 'connection reset by peer', 'permission denied', 'not found', 'rate limited'])[1 + (u7 * 50)::int % 5] as err
  from (
    select i, u1, u2, u3, u4, u5, u6, u7, u8, u9,
      now() - (1 - (i - 0.5) / :n::float8) * :days * interval '1 day' as t,
      case when u1 < 0.40 then 'api-service' when u1 < 0.65 then 'frontend' when u1 < 0.80 then 'worker'
           when u1 < 0.88 then 'scheduler' when u1 < 0.93 then 'billing' when u1 < 0.97 then 'auth'
           when u1 < 0.99 then 'export-service' else 'system' end as source,
      floor(exp(u2 * ln(201)))::int as rank,
      u3 < 0.25 as svc,
      floor(exp(u4 * ln(5001)))::int as usr,
      floor(exp(u5 * ln(201)))::int as tenant
    from (
      select i,
        (hashint8extended(i, 1) & 2147483647) / 2147483648::float8 as u1,
        (hashint8extended(i, 2) & 2147483647) / 2147483648::float8 as u2,
        (hashint8extended(i, 3) & 2147483647) / 2147483648::float8 as u3,
        (hashint8extended(i, 4) & 2147483647) / 2147483648::float8 as u4,
        (hashint8extended(i, 5) & 2147483647) / 2147483648::float8 as u5,
        (hashint8extended(i, 6) & 2147483647) / 2147483648::float8 as u6,
        (hashint8extended(i, 7) & 2147483647) / 2147483648::float8 as u7,
        (hashint8extended(i, 8) & 2147483647) / 2147483648::float8 as u8,
        (hashint8extended(i, 9) & 2147483647) / 2147483648::float8 as u9
      from generate_series(:lo, :hi) as i
    ) draws
  ) picked
) r, lateral (select coalesce(op0, 'action_' || lpad(rank::text, 3, '0')) as op,
                       case result when 'success' then 'completed' when 'failure' then 'failed' else 'retried' end as verb) named;
