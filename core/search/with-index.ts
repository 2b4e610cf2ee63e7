import { ApiError } from "../contracts/errors.ts";
import type { VectorIndex, VectorStore } from "./vector-index.ts";

/** Opens an index for one piece of work and always releases it (an embedded index maps files and payloads). */
export async function withIndex<T>(
  store: VectorStore,
  name: string,
  use: (index: VectorIndex) => Promise<T>,
): Promise<T> {
  const index = await store.open(name);
  try {
    return await use(index);
  } finally {
    await index.close();
  }
}

/** Fails fast with index_not_found, before any model work is spent on a query for a missing index. */
export async function assertIndexExists(store: VectorStore, name: string): Promise<void> {
  if (!(await store.list()).some((index) => index.name === name)) {
    throw new ApiError("index_not_found", `There is no index named "${name}". GET /v1/indexes lists them.`);
  }
}
