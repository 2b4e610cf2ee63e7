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
