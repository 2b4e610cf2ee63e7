/** Rows per shard the id scheme allows (2^32); LAION shards hold about 1M. */
const ROWS_PER_SHARD = 2 ** 32;

/**
 * The point id of row `row` of shard `shard`: shard * 2^32 + row. Deterministic, so ingesting a shard
 * again replaces its points instead of adding copies; a safe integer for shards below 2^21.
 */
export function shardRowId(shard: number, row: number): number {
  return shard * ROWS_PER_SHARD + row;
}

export function shardRowOf(id: number): { shard: number; row: number } {
  return { shard: Math.floor(id / ROWS_PER_SHARD), row: id % ROWS_PER_SHARD };
}
