/**
 * One bundle graph as an ORT session (opened by runtime/ort-session's provider fallback), run with named
 * float32 inputs. Outputs are written into caller-owned buffers, so a sampling loop allocates its tensors
 * once and ORT fills them step after step.
 */
import * as ort from "onnxruntime-node";
import { type ExecutionProvider, openSession } from "../runtime/ort-session.ts";

export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

export class GraphSession {
  private constructor(
    readonly name: string,
    readonly provider: ExecutionProvider,
    private readonly session: ort.InferenceSession,
  ) {}

  static async open(
    name: string,
    path: string,
    options: { providers: ExecutionProvider[]; intraOpThreads?: number },
  ): Promise<GraphSession> {
    const opened = await openSession(path, options.providers, { intraOpThreads: options.intraOpThreads });
    return new GraphSession(name, opened.provider, opened.session);
  }

  /** Runs the graph; each output named in `outputs` is written into its buffer (sized by the caller). */
  async run(inputs: Record<string, FloatTensor>, outputs: Record<string, FloatTensor>): Promise<void> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [key, t] of Object.entries(inputs)) feeds[key] = new ort.Tensor("float32", t.data, t.dims);
    const fetches: Record<string, ort.Tensor> = {};
    for (const [key, t] of Object.entries(outputs)) fetches[key] = new ort.Tensor("float32", t.data, t.dims);
    const result = await this.session.run(feeds, fetches);
    for (const [key, t] of Object.entries(outputs)) {
      const produced = result[key];
      if (!produced) throw new Error(`${this.name} produced no output ${key}`);
      // A provider that ignores the pre-allocated buffer hands back its own; copy it in.
      if (produced.data !== t.data) t.data.set(produced.data as Float32Array);
    }
  }

  /** Runs the graph once and returns the named outputs as ORT allocated them (for one-off stages). */
  async runOnce(
    inputs: Record<string, FloatTensor>,
    outputs: string[],
  ): Promise<Record<string, FloatTensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [key, t] of Object.entries(inputs)) feeds[key] = new ort.Tensor("float32", t.data, t.dims);
    const result = await this.session.run(feeds, outputs);
    const tensors: Record<string, FloatTensor> = {};
    for (const key of outputs) {
      const produced = result[key];
      if (produced?.type !== "float32") throw new Error(`${this.name} produced no float32 ${key}`);
      tensors[key] = { data: produced.data as Float32Array, dims: produced.dims };
    }
    return tensors;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
