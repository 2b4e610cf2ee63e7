import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ApiKeyStore } from "../core/auth/api-keys.ts";
import type { Config } from "../core/config.ts";
import { buildServices } from "../functions/build-services.ts";
import type { AppServices } from "../functions/services.ts";
import { createLogger } from "./logger.ts";

export interface Embedded {
  services: AppServices;
  publicUrl: string;
  close(): Promise<void>;
}

/** Everything `mindeye serve` runs in one process, on the configured or embedded backends. */
export async function startEmbedded(config: Config): Promise<Embedded> {
  const log = createLogger(config.LOG_LEVEL);
  const built = await buildServices(config, log);
  if (config.embedded) await ensureLocalKey(config.dataDir, built.services.apiKeys);
  return built;
}

/** On the first start of the embedded default, a lab `local` gets a key, saved beside the data (mode 600). */
async function ensureLocalKey(dataDir: string, apiKeys: ApiKeyStore): Promise<void> {
  const file = path.join(dataDir, "local-api-key");
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists) return;
  const { key } = await apiKeys.create("local", "created by the first `mindeye serve`");
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  process.stdout.write(`\nYour local API key (saved to ${file}):\n  ${key}\n\n`);
}
