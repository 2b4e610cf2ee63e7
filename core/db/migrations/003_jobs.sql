-- Async jobs, their webhook subscriptions and outbox, per-lab webhook secrets, and idempotency records.

create table jobs (
  id text primary key,
  lab_id text not null references labs (id) on delete cascade,
  kind text not null,
  inputs jsonb not null,
  params jsonb not null default '{}',
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed', 'canceled', 'expired')),
  progress double precision not null default 0,
  progress_message text,
  -- When the last job.progress event was written, so events can be throttled.
  progress_event_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  outputs jsonb,
  error jsonb,
  attempts int not null default 0,
  max_attempts int not null default 3 check (max_attempts > 0),
  -- A failed attempt waits until run_after before the job can be claimed again.
  run_after timestamptz not null default now(),
  lease_owner text,
  lease_expires_at timestamptz,
  deadline timestamptz,
  cancel_requested boolean not null default false
);
create index jobs_lab_created on jobs (lab_id, created_at desc, id desc);
create index jobs_queued on jobs (created_at, id) where status = 'queued';
create index jobs_running_lease on jobs (lease_expires_at) where status = 'running';

-- One subscription per job, written in the job's creating transaction.
create table job_webhooks (
  job_id text primary key references jobs (id) on delete cascade,
  lab_id text not null references labs (id) on delete cascade,
  url text not null,
  events text[] not null,
  created_at timestamptz not null default now(),
  -- Set when the receiver answered 410 Gone: nothing more is sent to it.
  disabled_at timestamptz,
  disabled_reason text
);

-- Secrets are kept in clear because signing needs them. The current one has expires_at null;
-- a rotated-out one stays valid (and is signed with) until its expires_at.
create table webhook_secrets (
  id bigint generated always as identity primary key,
  lab_id text not null references labs (id) on delete cascade,
  secret text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz
);
create unique index webhook_secrets_current on webhook_secrets (lab_id) where expires_at is null;

-- The transactional outbox: one row per event, written with the state change it announces.
-- Its id is the webhook-id of every attempt. payload is the exact body sent, never re-serialised.
create table webhook_events (
  id text primary key,
  lab_id text not null references labs (id) on delete cascade,
  job_id text not null references jobs (id) on delete cascade,
  type text not null,
  payload text not null,
  created_at timestamptz not null default now(),
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'disabled')),
  attempts int not null default 0,
  -- Index into the retry schedule; a redelivery starts it again while attempts keeps counting.
  retry_step int not null default 0,
  next_attempt_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index webhook_events_due on webhook_events (next_attempt_at) where status = 'pending';
create index webhook_events_job on webhook_events (lab_id, job_id, created_at);

-- Every delivery attempt, kept for GET /v1/jobs/{id}/deliveries and for operators.
create table webhook_deliveries (
  id text primary key,
  lab_id text not null references labs (id) on delete cascade,
  event_id text not null references webhook_events (id) on delete cascade,
  job_id text not null references jobs (id) on delete cascade,
  attempt int not null,
  url text not null,
  status_code int,
  duration_ms int not null,
  error text,
  created_at timestamptz not null default now()
);
create index webhook_deliveries_job on webhook_deliveries (lab_id, job_id, created_at);

-- Idempotency-Key records (Stripe semantics), scoped per lab. A row without response_status is in
-- progress, held by owner_token until locked_until; expires_at bounds how long a key is remembered.
create table idempotency_keys (
  lab_id text not null references labs (id) on delete cascade,
  key text not null,
  fingerprint text not null,
  owner_token text not null,
  locked_until timestamptz not null,
  response_status int,
  response_body jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (lab_id, key)
);
create index idempotency_keys_expiry on idempotency_keys (expires_at);
