/** The few calls a lab's script makes, over plain fetch with the lab's key. */
export class LabClient {
  constructor(
    private readonly baseUrl: string,
    private readonly key: string,
  ) {}

  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.key}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  /** create -> PUT -> complete, as the upload protocol goes. */
  async upload(bytes: Uint8Array, filename: string, model: string) {
    const created = await this.call<{ id: string; upload: { url: string; headers: Record<string, string> } }>(
      "POST",
      "/v1/uploads",
      { filename, size: bytes.byteLength },
    );
    const put = await fetch(created.upload.url, {
      method: "PUT",
      headers: created.upload.headers,
      body: bytes,
    });
    if (!put.ok) throw new Error(`PUT upload -> ${put.status}: ${await put.text()}`);
    return this.call<{ id: string; trials: number; voxels: number }>(
      "POST",
      `/v1/uploads/${created.id}/complete`,
      { model },
    );
  }
}
