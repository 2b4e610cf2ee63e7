import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const script = createRequire(import.meta.url).resolve("@scalar/api-reference/browser/standalone.js");

/** The docs page's script from node_modules, so /docs works without internet access. */
export const localDocsScript = async (): Promise<Uint8Array<ArrayBuffer>> =>
  new Uint8Array(await readFile(script));
