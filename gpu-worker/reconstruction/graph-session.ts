/**
 * One bundle graph as an ORT session (opened by runtime/ort-session's provider fallback), run with named
 * float32 inputs; a sampling loop's outputs are copied into buffers it allocated once.
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

  /**
   * Runs the graph and copies each output named in `outputs` into its buffer (sized by the caller). ORT's
   * own output tensor is transient; the loop's state lives in buffers allocated once.
   */
  async run(inputs: Record<string, FloatTensor>, outputs: Record<string, FloatTensor>): Promise<void> {
    const result = await this.runOnce(inputs, Object.keys(outputs));
    for (const [key, t] of Object.entries(outputs)) {
      const produced = result[key]!.data;
      if (produced.length !== t.data.length) {
        throw new Error(
          `${this.name} output ${key} has ${produced.length} values, expected ${t.data.length}`,
        );
      }
      t.data.set(produced);
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
