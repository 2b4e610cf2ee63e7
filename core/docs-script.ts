import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

/** The name of Scalar's bundle at the root of the Lambda package, where `copyFiles` in infra/api.ts puts it. */
export const LAMBDA_DOCS_SCRIPT = "scalar-api-reference.js";

/** Reads the docs page's script once, on first use, and keeps it (3.5 MB, asked for on every page view). */
function docsScriptAt(file: string): () => Promise<Uint8Array<ArrayBuffer>> {
  let bytes: Promise<Uint8Array<ArrayBuffer>> | undefined;
  // A failed read is not kept: the next request tries again.
  return () =>
    (bytes ??= readFile(file).then(
      (b) => new Uint8Array(b),
      (error) => {
        bytes = undefined;
        throw error;
      },
    ));
}

/**
 * Scalar's standalone bundle, which /docs serves from the service itself so that the page loads nothing
 * from a CDN: from the installed package (`mindeye serve`, `mindeye api`)...
 */
export const installedDocsScript = () =>
  docsScriptAt(createRequire(import.meta.url).resolve("@scalar/api-reference/browser/standalone.js"));

/** ...or, on Lambda, whose bundle carries no node_modules of it, from the copy in the function package. */
export const lambdaDocsScript = (taskRoot: string) => docsScriptAt(path.join(taskRoot, LAMBDA_DOCS_SCRIPT));
