import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../../test/helpers/harness.ts";
import { bodies, fields, type OpenApiDocument, operations } from "../../test/helpers/openapi-walk.ts";

// The reference at /docs is what a lab learns the API from: these walk the document it renders.
let h: Harness;
let doc: OpenApiDocument;
beforeAll(async () => {
  h = await createHarness();
  doc = (await (await h.request("/openapi.json")).json()) as OpenApiDocument;
});
afterAll(() => h.close());

describe("the OpenAPI document describes", () => {
  it("every operation, with a summary and a description", () => {
    const missing = operations(doc).flatMap(({ name, op }) => [
      ...(op.summary ? [] : [`${name}: summary`]),
      ...(op.description ? [] : [`${name}: description`]),
    ]);
    expect(operations(doc).length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it("every parameter and every request and response field", () => {
    const missing = new Set<string>();
    for (const { name, op } of operations(doc)) {
      for (const p of op.parameters ?? [])
        if (!p.description) missing.add(`${name}: ${p.in} parameter ${p.name}`);
      for (const body of bodies(op)) {
        if (!body.media.schema) continue;
        for (const field of fields(doc, body.media.schema)) {
          if (!field.described) missing.add(`${name} ${body.name}: ${field.name}`);
        }
      }
    }
    for (const [component, schema] of Object.entries(doc.components?.schemas ?? {})) {
      for (const field of fields(doc, schema))
        if (!field.described) missing.add(`${component}: ${field.name}`);
    }
    expect([...missing]).toEqual([]);
  });
});
