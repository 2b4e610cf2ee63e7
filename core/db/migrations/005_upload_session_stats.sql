-- Per-voxel z-scoring statistics of an upload's whole session, per model (the mask decides the voxels),
-- computed once and kept with the upload: deleted with it, and dropped when it is completed again.
create table upload_session_stats (
  upload_id text not null references uploads (id) on delete cascade,
  model text not null,
  trials integer not null,
  voxels integer not null,
  zero_variance_voxels integer not null,
  -- float64 little-endian, one per voxel, in the file's stored units (before any scale)
  mean bytea not null,
  std bytea not null,
  computed_at timestamptz not null default now(),
  primary key (upload_id, model)
);
