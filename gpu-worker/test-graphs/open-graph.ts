/** Writes a graph built in TypeScript to a folder and opens it as the pipeline opens a bundle's graphs. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GraphSession } from "../reconstruction/graph-session.ts";

export async function openGraph(dir: string, name: string, bytes: Uint8Array): Promise<GraphSession> {
  const path = join(dir, `${name}.onnx`);
  await writeFile(path, bytes);
  return GraphSession.open(name, path, { providers: ["cpu"], intraOpThreads: 1 });
}
