-- Per-lab request budgets (GCRA): one row per lab holding its theoretical arrival time. A request is let
-- through when tat - now() stays within the burst allowance, and pushes tat on by 1/rate.
create table lab_rate_limits (
  lab_id text primary key references labs (id) on delete cascade,
  tat timestamptz not null
);
