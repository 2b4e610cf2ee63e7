import { Command } from "commander";
import { ApiKeyStore } from "../../core/auth/api-keys.ts";
import { loadConfig } from "../../core/config.ts";
import { openConfiguredDatabase } from "../../core/db/open.ts";

/** `mindeye keys create --lab NAME | list | revoke ID`: manage labs' API keys in the configured database. */
export function keysCommand(): Command {
  const keys = new Command("keys").description("create, list and revoke labs' API keys");

  keys
    .command("create")
    .description("create an API key for a lab (the lab is created if new); the key is printed once")
    .requiredOption("--lab <name>", "lab name")
    .option("--name <name>", "a label for the key, e.g. who holds it")
    .action(async (options: { lab: string; name?: string }) => {
      await withKeys(async (store) => {
        const { key, info } = await store.create(options.lab, options.name);
        process.stdout.write(`${key}\n`);
        process.stderr.write(
          `created key ${info.id} (${info.prefix}...) for lab ${info.labName}; it is shown only once\n`,
        );
      });
    });

  keys
    .command("list")
    .description("list keys (never the keys themselves)")
    .option("--lab <name>", "only this lab's keys")
    .action(async (options: { lab?: string }) => {
      await withKeys(async (store) => {
        for (const k of await store.list(options.lab)) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
          const used = k.lastUsedAt ? k.lastUsedAt.toISOString() : "never";
          process.stdout.write(`${k.id}\t${k.prefix}...\t${k.labName}\t${state}\tlast used ${used}\n`);
        }
      });
    });

  keys
    .command("revoke")
    .description("revoke a key by its id or visible prefix")
    .argument("<id-or-prefix>")
    .action(async (idOrPrefix: string) => {
      await withKeys(async (store) => {
        const info = await store.revoke(idOrPrefix);
        process.stdout.write(`revoked ${info.id} (${info.prefix}...) of lab ${info.labName}\n`);
      });
    });
  return keys;
}

async function withKeys(fn: (store: ApiKeyStore) => Promise<void>): Promise<void> {
  const db = await openConfiguredDatabase(loadConfig());
  try {
    await fn(new ApiKeyStore(db));
  } finally {
    await db.close();
  }
}
