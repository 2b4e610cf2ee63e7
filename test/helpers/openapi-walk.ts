/** The parts of an OpenAPI 3.1 document the documentation tests walk (only what they read). */
export interface Schema {
  $ref?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  prefixItems?: Schema[];
  additionalProperties?: Schema | boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  examples?: unknown[];
  example?: unknown;
}
interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}
interface Parameter {
  name: string;
  in: string;
  description?: string;
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
export interface Operation {
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { description?: string; content?: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export const operations = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );

/** Every request body and response body of an operation, named `request <type>` / `<status> <type>`. */
export function bodies(op: Operation): { name: string; media: MediaType; status?: string }[] {
  const request = Object.entries(op.requestBody?.content ?? {}).map(([type, media]) => ({
    name: `request ${type}`,
    media,
  }));
  const responses = Object.entries(op.responses).flatMap(([status, r]) =>
    Object.entries(r.content ?? {}).map(([type, media]) => ({ name: `${status} ${type}`, media, status })),
  );
  return [...request, ...responses];
}

export const resolve = (doc: OpenApiDocument, s: Schema): Schema =>
  s.$ref ? resolve(doc, doc.components?.schemas?.[s.$ref.replace("#/components/schemas/", "")] ?? {}) : s;

/** A description on the schema, on its component, or beside a `$ref` in an allOf (zod-openapi's form). */
const described = (doc: OpenApiDocument, s: Schema): boolean =>
  Boolean(s.description || resolve(doc, s).description || s.allOf?.some((m) => described(doc, m)));

/**
 * Every object property reachable from `schema`, named by its path (`betas.upload_id`, `data[].id`), each
 * component visited once: a field is described where it is defined, on the property or on its component.
 */
export function fields(
  doc: OpenApiDocument,
  schema: Schema,
  at = "",
): { name: string; described: boolean }[] {
  const seen = new Set<string>();
  const out: { name: string; described: boolean }[] = [];
  const walk = (s: Schema, path: string) => {
    if (s.$ref) {
      if (seen.has(s.$ref)) return;
      seen.add(s.$ref);
    }
    const r = resolve(doc, s);
    for (const [key, property] of Object.entries(r.properties ?? {})) {
      const name = path ? `${path}.${key}` : key;
      out.push({ name, described: described(doc, property) });
      walk(property, name);
    }
    for (const branch of [...(r.oneOf ?? []), ...(r.anyOf ?? []), ...(r.allOf ?? [])]) walk(branch, path);
    if (r.items) walk(r.items, `${path}[]`);
    for (const item of r.prefixItems ?? []) walk(item, `${path}[]`);
    if (typeof r.additionalProperties === "object") walk(r.additionalProperties, `${path}{}`);
  };
  walk(schema, at);
  return out;
}

/** Every example in the document with the schema it illustrates, named by where it is. */
export function examples(doc: OpenApiDocument): { name: string; schema: Schema; value: unknown }[] {
  const out: { name: string; schema: Schema; value: unknown }[] = [];
  const inSchema = (s: Schema, at: string) => {
    if (s.example !== undefined) out.push({ name: `${at} (schema example)`, schema: s, value: s.example });
    for (const [i, value] of (s.examples ?? []).entries())
      out.push({ name: `${at} (schema examples[${i}])`, schema: s, value });
    for (const [key, p] of Object.entries(s.properties ?? {})) inSchema(p, `${at}.${key}`);
    for (const [i, b] of [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])].entries())
      inSchema(b, `${at}|${i}`);
    if (s.items) inSchema(s.items, `${at}[]`);
    if (typeof s.additionalProperties === "object") inSchema(s.additionalProperties, `${at}{}`);
  };
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) inSchema(schema, name);
  for (const { name, op } of operations(doc)) {
    for (const p of op.parameters ?? []) {
      if (!p.schema) continue;
      const at = `${name} ${p.in} parameter ${p.name}`;
      if (p.example !== undefined) out.push({ name: at, schema: p.schema, value: p.example });
      for (const [key, e] of Object.entries(p.examples ?? {}))
        out.push({ name: `${at} "${key}"`, schema: p.schema, value: e.value });
      inSchema(p.schema, at);
    }
    for (const body of bodies(op)) {
      const { schema, example, examples: named } = body.media;
      if (!schema) continue;
      const at = `${name} ${body.name}`;
      if (example !== undefined) out.push({ name: at, schema, value: example });
      for (const [key, e] of Object.entries(named ?? {}))
        out.push({ name: `${at} "${key}"`, schema, value: e.value });
      if (!schema.$ref) inSchema(schema, at);
    }
  }
  return out;
}
