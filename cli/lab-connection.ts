import { readFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../core/config.ts";
import { LabClient } from "./api-client.ts";
import { UserError } from "./user-error.ts";

export const DEFAULT_API_URL = "http://127.0.0.1:8787";

/**
 * The API the lab commands talk to: MINDEYE_API_URL (default the local `mindeye serve`), with
 * MINDEYE_API_KEY or, for the local server, the key it saved in its data dir.
 */
export async function labClient(explicit: { api?: string; key?: string } = {}): Promise<LabClient> {
  const url = explicit.api || process.env.MINDEYE_API_URL || DEFAULT_API_URL;
  try {
    new URL(url);
  } catch {
    throw new UserError(`MINDEYE_API_URL is not a URL: ${url} (e.g. ${DEFAULT_API_URL})`);
  }
  const key = explicit.key || process.env.MINDEYE_API_KEY || (await localKey());
  return new LabClient(url, key);
}

async function localKey(): Promise<string> {
  const file = path.join(loadConfig().dataDir, "local-api-key");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    throw new UserError(
      `no API key: set MINDEYE_API_KEY, or run \`mindeye serve\` once here to create ${file}`,
    );
  }
}
