-- A deleted upload stays as a tombstone (no filename, no summary, its file already deleted) until its
-- presigned PUT URL has expired, so the sweeper deletes whatever bytes that URL could still write.
alter table uploads drop constraint uploads_status_check;
alter table uploads add constraint uploads_status_check check (status in ('pending', 'ready', 'deleted'));
alter table uploads add column put_url_expires_at timestamptz;
create index uploads_blob_key on uploads (blob_key);

-- Inputs larger than a row should hold live in the blob store under this key; `inputs` then holds a stub.
alter table jobs add column inputs_blob text;

-- Headers an Idempotency-Key replay sends again (content type, Location), now that every POST takes a key.
alter table idempotency_keys add column response_headers jsonb;
