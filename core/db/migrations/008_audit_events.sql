-- Every read or change of a lab's data (uploads, presigned URLs, job inputs and outputs, deletes), for the
-- lab (GET /v1/audit-events) and its auditors. key_id is null for presigned URLs, which carry no API key.
create table audit_events (
  id bigint generated always as identity primary key,
  lab_id text not null references labs (id) on delete cascade,
  key_id text,
  action text not null,
  resource_type text not null,
  resource_id text,
  status int not null,
  request_id text,
  created_at timestamptz not null default now()
);
create index audit_events_lab on audit_events (lab_id, id desc);
