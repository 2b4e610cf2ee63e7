/**
 * A reconstructions job stores its images as names of `outputs.files`; labs get them as the signed URLs
 * those files were given (`{"file": name}` becomes `{"url": ...}`), in the wire shape of the architecture.
 */
export function presentReconstructions(
  outputs: Record<string, unknown>,
  signed: Record<string, { url: string }>,
): Record<string, unknown> {
  if (!Array.isArray(outputs.reconstructions)) return outputs;
  const withUrl = (ref: unknown) => {
    if (!ref || typeof ref !== "object" || !("file" in ref)) return ref;
    const { file, ...rest } = ref as { file: string };
    return { url: signed[file]?.url ?? null, ...rest };
  };
  const reconstructions = (outputs.reconstructions as Record<string, unknown>[]).map((entry) => ({
    ...entry,
    ...(entry.best ? { best: withUrl(entry.best) } : {}),
    ...(Array.isArray(entry.candidates) ? { candidates: entry.candidates.map(withUrl) } : {}),
    ...(entry.blurry ? { blurry: withUrl(entry.blurry) } : {}),
  }));
  return { ...outputs, reconstructions };
}
