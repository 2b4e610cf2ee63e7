import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Qdrant's own OpenAPI document, kept with the shared third-party fixtures beside the repository. */
export const QDRANT_OPENAPI_PATH = path.join(REPO_ROOT, "../shared/fixtures/qdrant-openapi.json");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Json | undefined;
  operationId: string | null;
}

export interface ValidationFailure {
  method: string;
  path: string;
  errors: string[];
}

interface Operation {
  method: string;
  pattern: RegExp;
  operationId: string;
  body: ValidateFunction | null;
  parameters: Map<string, ValidateFunction>;
}

/**
 * OpenAPI 3.0 marks optional-null with `nullable: true`, which JSON Schema spells as a "null" type; Qdrant's
 * document also uses `{nullable: true}` alone inside anyOf. Rewrites both, and points `$ref`s at `qdrant#`.
 */
function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "nullable") continue;
    out[key] =
      key === "$ref" && typeof value === "string" ? value.replace(/^#/, "qdrant#") : toJsonSchema(value);
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === "string") {
    const withNull: JsonObject = { ...out, type: [out.type, "null"] };
    if (Array.isArray(out.enum)) withNull.enum = [...out.enum, null];
    return withNull;
  }
  const { description: _d, default: _f, ...rest } = out;
  return Object.keys(rest).length === 0 ? { type: "null" } : { anyOf: [rest, { type: "null" }] };
}

function compileOperations(): Operation[] {
  const document = JSON.parse(readFileSync(QDRANT_OPENAPI_PATH, "utf8")) as JsonObject;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // Rust integer and float widths: the JSON type is already checked; ranges come from minimum/maximum.
  for (const format of ["uint", "uint8", "uint16", "uint32", "uint64", "int32", "int64", "float", "double"]) {
    ajv.addFormat(format, { type: "number", validate: () => true });
  }
  ajv.addSchema({
    $id: "qdrant",
    components: toJsonSchema((document.components as JsonObject) ?? {}),
  } as object);
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(document.paths as Record<string, JsonObject>)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as JsonObject;
      const content = ((op.requestBody as JsonObject | undefined)?.content as JsonObject | undefined)?.[
        "application/json"
      ] as JsonObject | undefined;
      const parameters = new Map<string, ValidateFunction>();
      for (const p of (op.parameters as JsonObject[] | undefined) ?? []) {
        if (p.in === "query")
          parameters.set(p.name as string, ajv.compile(toJsonSchema(p.schema ?? {}) as object));
      }
      operations.push({
        method: method.toUpperCase(),
        pattern,
        operationId: op.operationId as string,
        body: content?.schema ? ajv.compile(toJsonSchema(content.schema) as object) : null,
        parameters,
      });
    }
  }
  return operations;
}

/** A query-string value as the schema sees it: "true" is a boolean, "5" a number. */
function coerce(value: string): Json {
  if (value === "true" || value === "false") return value === "true";
  return value !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
}

interface Collection {
  config: JsonObject;
  points: Map<string, JsonObject>;
}

/**
 * A stand-in for Qdrant's REST API on 127.0.0.1 that checks every request against Qdrant's OpenAPI
 * document (path, method, query parameters, JSON body) and answers with small responses in the shape
 * @qdrant/js-client-rest 1.18 reads. It keeps collections and points so that flows (create, upsert,
 * count, list) answer plausibly; query scores are not computed. It can also fail on purpose.
 */
export class QdrantOpenApiServer {
  readonly requests: SeenRequest[] = [];
  readonly failures: ValidationFailure[] = [];
  private readonly operations = compileOperations();
  private readonly collections = new Map<string, Collection>();
  private injected: { status: number; headers: Record<string, string> }[] = [];
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500).end(JSON.stringify({ status: { error: error.message } }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next `count` requests get `status` (after validation), e.g. 503, or 429 with Retry-After. */
  failNext(count: number, status: number, headers: Record<string, string> = {}): void {
    for (let i = 0; i < count; i++) this.injected.push({ status, headers });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const query = Object.fromEntries(url.searchParams);
    let body: Json | undefined;
    const errors: string[] = [];
    try {
      body = text ? (JSON.parse(text) as Json) : undefined;
    } catch {
      errors.push("body is not JSON");
    }
    const op = this.operations.find((o) => o.method === method && o.pattern.test(url.pathname)) ?? null;
    this.requests.push({ method, path: url.pathname, query, body, operationId: op?.operationId ?? null });
    if (!op) errors.push("no such operation in the OpenAPI document");
    if (op?.body && body !== undefined && !op.body(body)) {
      errors.push(...(op.body.errors ?? []).map((e) => `body${e.instancePath} ${e.message}`));
    }
    for (const [name, value] of Object.entries(query)) {
      const check = op?.parameters.get(name);
      if (!check) errors.push(`unknown query parameter "${name}"`);
      else if (!check(coerce(value))) errors.push(`query ${name}=${value}: ${check.errors?.[0]?.message}`);
    }
    if (errors.length > 0) {
      this.failures.push({ method, path: url.pathname, errors });
      return send(res, 400, { status: { error: errors.join("; ") } });
    }
    const injected = this.injected.shift();
    if (injected) {
      res.writeHead(injected.status, { "content-type": "application/json", ...injected.headers });
      res.end(JSON.stringify({ status: { error: "injected failure" }, time: 0 }));
      return;
    }
    const [status, result] = this.respond(
      op!.operationId,
      decodeURIComponent(url.pathname.split("/")[2] ?? ""),
      body,
    );
    send(
      res,
      status,
      status === 200 ? { result, status: "ok", time: 0.0001 } : { status: { error: result } },
    );
  }

  private respond(operationId: string, name: string, body: Json | undefined): [number, Json] {
    const collection = this.collections.get(name);
    const payloadOf = body as JsonObject;
    switch (operationId) {
      case "get_collections":
        return [200, { collections: [...this.collections.keys()].map((n) => ({ name: n })) }];
      case "collection_exists":
        return [200, { exists: Boolean(collection) }];
      case "create_collection":
        this.collections.set(name, { config: payloadOf, points: new Map() });
        return [200, true];
      case "delete_collection":
        return [200, this.collections.delete(name)];
    }
    if (!collection) return [404, `Collection \`${name}\` doesn't exist!`];
    switch (operationId) {
      case "get_collection":
        return [200, collectionInfo(collection)];
      case "create_field_index":
        return [200, { operation_id: 0, status: "completed" }];
      case "upsert_points":
        for (const point of payloadOf.points as JsonObject[]) collection.points.set(String(point.id), point);
        return [200, { operation_id: 1, status: "completed" }];
      case "delete_points":
        for (const id of payloadOf.points as Json[]) collection.points.delete(String(id));
        return [200, { operation_id: 2, status: "completed" }];
      case "count_points":
        return [200, { count: collection.points.size }];
      case "query_points": {
        const limit = Number(payloadOf.limit ?? 10);
        const points = [...collection.points.values()].slice(0, limit);
        // Real servers (and the 1.18 client) answer {points}; this document's older draft says a bare array.
        return [
          200,
          { points: points.map((p) => ({ id: p.id ?? 0, version: 0, score: 0, payload: p.payload ?? {} })) },
        ];
      }
      default:
        return [501, `${operationId} is not answered by this test server`];
    }
  }
}

function collectionInfo(collection: Collection): JsonObject {
  const config = collection.config;
  return {
    status: "green",
    optimizer_status: "ok",
    points_count: collection.points.size,
    segments_count: 1,
    payload_schema: {},
    config: {
      params: { vectors: config.vectors ?? null, shard_number: 1, replication_factor: 1 },
      hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000 },
      optimizer_config: {},
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: config.quantization_config ?? null,
    },
  };
}

function send(res: ServerResponse, status: number, body: Json): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
