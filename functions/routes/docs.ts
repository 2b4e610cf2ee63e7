import { Scalar } from "@scalar/hono-api-reference";
import type { App, AppEnv } from "../env.ts";

const SCRIPT_PATH = "/docs/scalar.js";

/** `/openapi.json` (OpenAPI 3.1 from the route schemas) and `/docs`, an interactive reference page. */
export function registerDocs(app: App): void {
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "mindeye-serve API",
      version: c.var.services.version,
      description:
        "Decode fMRI betas with the MindEye models: brain embeddings in CLIP space, retrieval, reconstruction. " +
        "Errors are application/problem+json (RFC 9457) with a stable `code`.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
    security: [{ bearer: [] }],
  }));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key of your lab: `Authorization: Bearer mk_...`",
  });
  app.get(
    "/docs",
    Scalar((c) => ({
      url: "/openapi.json",
      pageTitle: "mindeye-serve API",
      withDefaultFonts: false,
      cdn: (c.var as AppEnv["Variables"]).services.docsScript ? SCRIPT_PATH : undefined,
    })),
  );
  app.get(SCRIPT_PATH, async (c) => {
    const load = c.var.services.docsScript;
    if (!load) return c.notFound();
    return c.body(await load(), 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=86400",
    });
  });
}
