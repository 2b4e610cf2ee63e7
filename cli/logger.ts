import pino, { type Logger } from "pino";

/** JSON logs on stdout; secrets never reach them (keys, signatures and bodies are not logged at all). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "mindeye" },
    redact: {
      paths: ["authorization", "*.authorization", "key", "*.key", "secret", "*.secret"],
      censor: "[redacted]",
    },
  });
}
