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

/**
 * Fails fast with index_not_found, before any model work is spent on a query for a missing index.
 * Opens the one index rather than listing all: a served embedded index is already open.
 */
export async function assertIndexExists(store: VectorStore, name: string): Promise<void> {
  try {
    await withIndex(store, name, async () => {});
  } catch (error) {
    // A name no index could have (embedded stores check the characters) is simply not there.
    if (error instanceof ApiError && (error.code === "index_not_found" || error.code === "invalid_request")) {
      throw new ApiError("index_not_found", `There is no index named "${name}". GET /v1/indexes lists them.`);
    }
    throw error;
  }
}
