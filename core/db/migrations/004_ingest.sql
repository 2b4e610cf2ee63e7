-- `mindeye ingest` progress: one run per (index, source); a shard row is written only after the index
-- has durably stored that shard, so a crashed ingest resumes after its last committed shard.
create table ingest_runs (
  id text primary key,
  index_name text not null,
  source text not null,
  -- The --where filters and options as JSON; resuming with different ones would mix two datasets.
  settings text not null,
  status text not null default 'running' check (status in ('running', 'completed')),
  shards_total integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (index_name, source)
);

create table ingest_shards (
  run_id text not null references ingest_runs (id) on delete cascade,
  shard integer not null,
  rows_read integer not null,
  rows_stored integer not null,
  committed_at timestamptz not null default now(),
  primary key (run_id, shard)
);
