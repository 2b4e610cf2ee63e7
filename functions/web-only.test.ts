import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * ARCHITECTURE.md: routes and middleware use only Web-standard APIs, so the same app can run at the edge;
 * Node-only code is an adapter handed to createApp. This walks the runtime imports (`import type` is erased)
 * of every file here, through core/, and names each chain that reaches a Node builtin or a package not
 * known to use Web APIs only. It checks imports, not globals such as Buffer or process.
 */
const FUNCTIONS = import.meta.dirname;
const ROOT = path.dirname(FUNCTIONS);

/** The Node entry points: they open the Node adapters (PGlite/pg, files, config) and hand them to createApp. */
const COMPOSITION_ROOTS = new Set(["build-services.ts", "lambda.ts"]);

/** Packages whose runtime code uses Web APIs only; add one here only after checking that. */
const WEB_PACKAGES = new Set(["hono", "@hono/zod-openapi", "@scalar/hono-api-reference", "zod"]);

const NODE_BUILTINS = new Set(builtinModules);

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isWebOnly(specifier: string): boolean {
  if (specifier.startsWith("node:") || NODE_BUILTINS.has(specifier.split("/")[0]!)) return false;
  return WEB_PACKAGES.has(packageName(specifier));
}

/** Specifiers a file loads at run time: value imports and re-exports (also `import {}`), and import(). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      found.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      found.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function entryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "test-support" ? [] : entryFiles(full);
    const isEntry =
      entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !COMPOSITION_ROOTS.has(entry.name);
    return isEntry ? [full] : [];
  });
}

/** Each Node-only import reachable from the entries, once, with the shortest chain that reaches it. */
function nodeOnlyChains(entries: string[]): string[] {
  const chains = new Map<string, string>();
  const seen = new Set<string>();
  const queue = entries.map((file) => ({ file, chain: [path.relative(ROOT, file)] }));
  for (let next = queue.shift(); next; next = queue.shift()) {
    if (seen.has(next.file)) continue;
    seen.add(next.file);
    for (const specifier of runtimeImports(next.file)) {
      if (specifier.startsWith(".")) {
        const target = path.resolve(path.dirname(next.file), specifier);
        if (target.endsWith(".ts"))
          queue.push({ file: target, chain: [...next.chain, path.relative(ROOT, target)] });
      } else if (!isWebOnly(specifier)) {
        const at = `${next.chain.at(-1)} imports ${specifier}`;
        if (!chains.has(at)) chains.set(at, [...next.chain, specifier].join(" -> "));
      }
    }
  }
  return [...chains.values()].sort();
}

describe("functions/ uses Web-standard APIs only", () => {
  it("reaches no Node builtin or Node-only package at run time, outside the composition roots", () => {
    expect(nodeOnlyChains(entryFiles(FUNCTIONS))).toEqual([]);
  });

  it("does find the Node adapters that the composition root opens (the walk is not vacuous)", () => {
    const chains = nodeOnlyChains([path.join(FUNCTIONS, "build-services.ts")]);
    expect(chains).toContainEqual(expect.stringMatching(/core\/db\/.* -> @electric-sql\/pglite$/));
    expect(chains).toContainEqual(expect.stringMatching(/core\/storage\/local-blob-store\.ts -> node:fs$/));
  });
});
