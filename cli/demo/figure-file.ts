import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../user-error.ts";

/** Checks, before any work, that the figure can be written where asked: an existing folder, a .png name. */
export async function figurePath(out: string): Promise<string> {
  const file = path.resolve(out);
  if (path.extname(file).toLowerCase() !== ".png")
    throw new UserError(`--out names a PNG file (*.png); got ${out}`);
  const folder = await stat(path.dirname(file)).catch(() => null);
  if (!folder?.isDirectory()) throw new UserError(`--out ${out}: there is no folder ${path.dirname(file)}`);
  if ((await stat(file).catch(() => null))?.isDirectory()) throw new UserError(`--out ${out} is a folder`);
  return file;
}

export async function writeFigure(file: string, png: Uint8Array): Promise<void> {
  await writeFile(file, png).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot write ${file}: ${error.code ?? error.message}`);
  });
}
