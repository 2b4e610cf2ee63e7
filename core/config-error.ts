/** A setting is missing or malformed; the message names each one. Apart from config.ts, so it loads without zod. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
