-- Structured progress beside the fraction and message (a reconstruction's input, stage, step and preview),
-- written with them, so job.progress events and event streams carry fields instead of text to parse.
alter table jobs add column progress_detail jsonb;
