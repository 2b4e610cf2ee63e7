import { describe, expect, it } from "vitest";
import { ApiError } from "../../core/contracts/errors.ts";
import { DynamicBatcher } from "./dynamic-batcher.ts";

const WIDTH = 3;
// A "model" whose output row is the input row doubled plus its batch size, so slicing and batching show.
function doublingModel(calls: number[]) {
  return async (rows: Float32Array, count: number) => {
    calls.push(count);
    await new Promise((r) => setTimeout(r, 5));
    return {
      doubled: rows.map((v) => v * 2),
      sum: Float32Array.from(
        { length: count },
        (_, i) => rows[i * WIDTH]! + rows[i * WIDTH + 1]! + rows[i * WIDTH + 2]!,
      ),
    };
  };
}
const row = (i: number) => Float32Array.from([i, i + 0.5, -i]);

describe("DynamicBatcher", () => {
  it("coalesces concurrent requests into one call and gives each its own rows", async () => {
    const calls: number[] = [];
    const batcher = new DynamicBatcher(WIDTH, doublingModel(calls), {
      maxBatchRows: 32,
      maxDelayMs: 20,
      maxQueue: 100,
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(row(i), 1)));
    expect(calls).toEqual([10]);
    results.forEach((r, i) => {
      expect(Array.from(r.outputs.doubled!)).toEqual(Array.from(row(i)).map((v) => v * 2));
      expect(r.outputs.sum![0]).toBeCloseTo(i + 0.5);
      expect(r.batchRows).toBe(10);
    });
  });

  it("runs a full batch at once without waiting for the delay", async () => {
    const calls: number[] = [];
    const batcher = new DynamicBatcher(WIDTH, doublingModel(calls), {
      maxBatchRows: 4,
      maxDelayMs: 10_000,
      maxQueue: 100,
    });
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.submit(row(i), 1)));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(calls).toEqual([4, 4]);
  });

  it("keeps multi-row requests whole and in order", async () => {
    const calls: number[] = [];
    const batcher = new DynamicBatcher(WIDTH, doublingModel(calls), {
      maxBatchRows: 5,
      maxDelayMs: 5,
      maxQueue: 100,
    });
    const two = Float32Array.from([...row(1), ...row(2)]);
    const three = Float32Array.from([...row(3), ...row(4), ...row(5)]);
    const one = row(6);
    const [a, b, c] = await Promise.all([
      batcher.submit(two, 2),
      batcher.submit(three, 3),
      batcher.submit(one, 1),
    ]);
    expect(calls).toEqual([5, 1]);
    expect(Array.from(a.outputs.doubled!)).toEqual(Array.from(two).map((v) => v * 2));
    expect(Array.from(b.outputs.doubled!)).toEqual(Array.from(three).map((v) => v * 2));
    expect(Array.from(c.outputs.doubled!)).toEqual(Array.from(one).map((v) => v * 2));
  });

  it("refuses new work with 503 and Retry-After when the queue is full", async () => {
    const batcher = new DynamicBatcher(WIDTH, doublingModel([]), {
      maxBatchRows: 8,
      maxDelayMs: 50,
      maxQueue: 2,
    });
    const accepted = [batcher.submit(row(0), 1), batcher.submit(row(1), 1)];
    let refused: unknown;
    try {
      await batcher.submit(row(2), 1);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(503);
    expect((refused as ApiError).headers["retry-after"]).toBe("1");
    await Promise.all(accepted);
  });

  it("drops a request whose client went away before its batch ran", async () => {
    const calls: number[] = [];
    const batcher = new DynamicBatcher(WIDTH, doublingModel(calls), {
      maxBatchRows: 32,
      maxDelayMs: 30,
      maxQueue: 100,
    });
    const controller = new AbortController();
    const leaving = batcher.submit(row(9), 1, controller.signal);
    const staying = batcher.submit(row(1), 1);
    controller.abort(new Error("client closed"));
    await expect(leaving).rejects.toThrow("client closed");
    const kept = await staying;
    expect(calls).toEqual([1]);
    expect(kept.batchRows).toBe(1);
  });

  it("fails every request of a batch whose model call fails, and keeps serving", async () => {
    let fail = true;
    const batcher = new DynamicBatcher(
      WIDTH,
      async (rows) => {
        if (fail) throw new Error("session crashed");
        return { doubled: rows.map((v) => v * 2) };
      },
      { maxBatchRows: 8, maxDelayMs: 5, maxQueue: 10 },
    );
    await expect(Promise.all([batcher.submit(row(1), 1), batcher.submit(row(2), 1)])).rejects.toThrow(
      "session crashed",
    );
    fail = false;
    expect((await batcher.submit(row(3), 1)).outputs.doubled![0]).toBe(6);
  });
});
