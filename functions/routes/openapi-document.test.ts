import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode } from "../../core/contracts/errors.ts";
import { createHarness, type Harness } from "../../test/helpers/harness.ts";
import {
  bodies,
  examples,
  fields,
  type OpenApiDocument,
  operations,
  resolve,
  type Schema,
} from "../../test/helpers/openapi-walk.ts";

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

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

/**
 * OpenAPI 3.1's schema dialect: JSON Schema 2020-12 plus the OAS keywords (annotations to a validator).
 * Each component becomes a schema of its own, so `#/components/schemas/X` references resolve.
 */
function validatorOf(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addVocabulary(["example", "discriminator", "xml", "externalDocs"]);
  ajv.addFormat("binary", true);
  const local = (s: unknown): Schema =>
    JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', '"urn:openapi:schema:'));
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {}))
    ajv.addSchema({ ...local(schema), $id: `urn:openapi:schema:${name}` });
  return (schema: Schema, value: unknown) => {
    const validate = ajv.compile(local(schema));
    return validate(value) ? null : ajv.errorsText(validate.errors);
  };
}

const binary = (doc: OpenApiDocument, s: Schema) =>
  (resolve(doc, s) as { format?: string }).format === "binary";

describe("the OpenAPI document's examples", () => {
  it("are on every request and response body (a binary .npy body excepted)", () => {
    const missing: string[] = [];
    for (const { name, op } of operations(doc)) {
      for (const body of bodies(op)) {
        const { schema, example, examples: named } = body.media;
        if (schema && binary(doc, schema)) continue;
        const own = example !== undefined || Object.keys(named ?? {}).length > 0;
        if (!own && (!schema || resolve(doc, schema).example === undefined))
          missing.push(`${name} ${body.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("each validate against their own schema", () => {
    const validate = validatorOf(doc);
    const all = examples(doc);
    expect(all.length).toBeGreaterThan(50);
    const invalid = all.flatMap(({ name, schema, value }) => {
      const error = validate(schema, value);
      return error ? [`${name}: ${error}`] : [];
    });
    expect(invalid).toEqual([]);
  });

  it("of errors are problems with a real code of the response's status", () => {
    const wrong: string[] = [];
    let count = 0;
    for (const { name, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const media = response.content?.["application/problem+json"];
        if (!media) continue;
        const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
          (c) => ERROR_CODES[c].status === Number(status),
        );
        expect(Object.keys(media.examples ?? {}).sort(), `${name} ${status}`).toEqual(codes.sort());
        for (const [key, e] of Object.entries(media.examples ?? {})) {
          count++;
          const problem = e.value as { status: number; code: ErrorCode; type: string };
          if (problem.status !== Number(status) || ERROR_CODES[problem.code]?.status !== Number(status))
            wrong.push(`${name} ${status} "${key}": ${problem.code} is ${ERROR_CODES[problem.code]?.status}`);
          if (problem.type !== `urn:mindeye:problem:${problem.code}`)
            wrong.push(`${name} ${status} "${key}": type`);
        }
      }
    }
    expect(count).toBeGreaterThan(100);
    expect(wrong).toEqual([]);
  });
});
