/** Longest `Prefer: wait` honoured, as Replicate's sync mode. */
export const MAX_WAIT_SECONDS = 60;

export interface Preferences {
  /** `Prefer: respond-async`: answer 202 at once even where a route could answer synchronously. */
  respondAsync: boolean;
  /** `Prefer: wait=N` (1..60 s; bare `wait` means 60): hold the response until the job finishes or N s pass. */
  waitSeconds: number | null;
}

/** Reads the RFC 7240 `Prefer` header; preferences it does not know or cannot parse are ignored, as the RFC asks. */
export function parsePrefer(header: string | undefined): Preferences {
  const preferences: Preferences = { respondAsync: false, waitSeconds: null };
  for (const item of (header ?? "").split(",")) {
    const [token = "", value] = item
      .split(";")[0]!
      .split("=")
      .map((s) => s.trim().replace(/^"|"$/g, ""));
    const name = token.toLowerCase();
    if (name === "respond-async") preferences.respondAsync = true;
    if (name === "wait") {
      const seconds = value === undefined ? MAX_WAIT_SECONDS : Number(value);
      if (Number.isFinite(seconds) && seconds >= 0) {
        preferences.waitSeconds = Math.min(MAX_WAIT_SECONDS, Math.max(1, Math.ceil(seconds)));
      }
    }
  }
  return preferences;
}
