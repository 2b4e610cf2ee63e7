-- Files labs upload by presigned PUT; inspected on `complete`. The blob lives at blob_key until expiry.
create table uploads (
  id text primary key,
  lab_id text not null references labs (id) on delete cascade,
  filename text not null,
  size bigint not null,
  content_type text,
  blob_key text not null,
  status text not null default 'pending' check (status in ('pending', 'ready')),
  summary jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  expires_at timestamptz not null
);
create index uploads_lab_created on uploads (lab_id, created_at desc);
create index uploads_expires on uploads (expires_at);
