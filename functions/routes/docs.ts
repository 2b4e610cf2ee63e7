import { Scalar } from "@scalar/hono-api-reference";
import { secureHeaders } from "hono/secure-headers";
import type { App } from "../env.ts";

const SCRIPT_PATH = "/docs/scalar.js";

/**
 * The page may reach this origin only: the script and the document are served here, and "Test Request"
 * goes to the API itself (no request proxy is configured). Should a later Scalar add an outside call, the
 * browser blocks it instead of sending a lab's requests elsewhere. Scalar's page has inline script and styles.
 */
const sameOriginOnly = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-inline'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:", "blob:"],
    fontSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

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
    sameOriginOnly,
    Scalar({
      url: "/openapi.json",
      pageTitle: "mindeye-serve API",
      cdn: SCRIPT_PATH,
      // Scalar's cloud features are off: its agent ("Ask AI") and the registry it searches, the developer
      // toolbar ("Share", "Deploy", "Configure"), telemetry, and fonts from fonts.scalar.com.
      agent: { disabled: true },
      showDeveloperTools: "never",
      telemetry: false,
      withDefaultFonts: false,
    }),
  );
  app.get(SCRIPT_PATH, async (c) =>
    c.body(await c.var.services.docsScript(), 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=86400",
    }),
  );
}
