import * as ort from "onnxruntime-node";

export type ExecutionProvider = "cuda" | "cpu" | "webgpu";

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider the session was really created with (the first of the configured list that worked). */
  provider: ExecutionProvider;
  /** Providers tried before it, with why they failed (e.g. CUDA libraries missing). */
  fallbacks: { provider: ExecutionProvider; error: string }[];
}

/**
 * Creates an ORT session trying the configured providers in order. ORT itself silently falls back per
 * node, so each provider is tried alone (plus CPU for the ops it lacks) to know which one really runs.
 */
export async function openSession(
  modelPath: string,
  providers: ExecutionProvider[],
  options: { intraOpThreads?: number } = {},
): Promise<OpenedSession> {
  const fallbacks: OpenedSession["fallbacks"] = [];
  for (const provider of providers) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: provider === "cpu" ? ["cpu"] : [provider, "cpu"],
        graphOptimizationLevel: "all",
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
      });
      return { session, provider, fallbacks };
    } catch (error) {
      fallbacks.push({ provider, error: (error as Error).message.split("\n")[0]! });
    }
  }
  throw new Error(
    `no execution provider could open ${modelPath}: ${fallbacks.map((f) => `${f.provider}: ${f.error}`).join("; ")}`,
  );
}
