-- Labs are the tenants: every lab-owned row below and in later migrations carries lab_id.
create table labs (
  id text primary key,
  name text not null unique,
  created_at timestamptz not null default now()
);

-- Only a SHA-256 of each key is stored; the prefix identifies a key in listings and logs.
create table api_keys (
  id text primary key,
  lab_id text not null references labs (id) on delete cascade,
  prefix text not null,
  key_hash text not null unique,
  name text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_lab on api_keys (lab_id);
