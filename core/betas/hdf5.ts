import h5wasm from "h5wasm/node";
import { ApiError } from "../contracts/errors.ts";
import {
  type AxisRole,
  gridOf,
  type LayoutRequest,
  resolveLayout,
  type StoredArray,
  voxelsPerTrial,
} from "./array-layout.ts";
import type { BetaFile, BetaLimits, TrialBlock } from "./beta-file.ts";
import { describeElementType, type ElementType, toFloat32 } from "./element-type.ts";
import { checkDeclaredSize } from "./streamed-array.ts";
import { transpose } from "./transpose.ts";

/**
 * h5wasm runs in a 2 GiB wasm heap and, on NSD's one-chunk-per-voxel layout, a read touching a few
 * hundred thousand chunks silently returns zeros or garbage. Reads therefore stay well under both
 * limits below, and every read is checked against single-element probes.
 */
const SLAB_BYTES = 64 << 20;
const SLAB_CHUNKS = 50_000;
/** float32 values handed out per trial block (larger blocks mean fewer passes over NSD's chunks). */
const BLOCK_BYTES = 256 << 20;
/**
 * Unwanted chunks between two runs of wanted voxels that are read rather than split into two reads:
 * on NSD's layout one h5wasm read costs about as much as reading 6-8 more chunks in it.
 */
const MERGE_GAP_CHUNKS = 6;

/** Wanted voxels `order[start .. start + members)`, read as one hyperslab of `count` elements from `first`. */
interface Run {
  start: number;
  members: number;
  first: number;
  count: number;
}

/** Indices of `offsets`, in increasing order of offset. */
function sortedOrder(offsets: Int32Array): Int32Array {
  const order = new Int32Array(offsets.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((i, j) => offsets[i]! - offsets[j]!);
}

const ready = h5wasm.ready;

type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

function refuseMinc(keys: string[]): void {
  if (keys.includes("minc-2.0")) {
    throw new ApiError(
      "unsupported_format",
      "This is a MINC2 file. MINC stores per-slice scaling that a plain HDF5 read would ignore; " +
        "convert it to NIfTI (mnc2nii, or nibabel.save(nibabel.load(path), 'betas.nii.gz')) and send that.",
    );
  }
}

function chooseDataset(
  file: InstanceType<typeof h5wasm.File>,
  requested: string | undefined,
): { name: string; dataset: H5Dataset } {
  const name = requested?.replace(/^\/+/, "");
  const candidates = name ? [name] : ["betas", "modelmd"];
  for (const candidate of candidates) {
    const entity = file.get(candidate);
    if (entity instanceof h5wasm.Dataset) return { name: candidate, dataset: entity };
  }
  const datasets = file.paths().filter((path) => file.get(path) instanceof h5wasm.Dataset);
  if (!name && datasets.length === 1) {
    const only = datasets[0]!.replace(/^\/+/, "");
    return { name: only, dataset: file.get(only) as H5Dataset };
  }
  throw new ApiError(
    "invalid_file",
    `${name ? `The file has no dataset '${name}'.` : "The file has several datasets and none is named 'betas'."} ` +
      `Datasets: ${datasets.slice(0, 20).join(", ") || "none"}. Pass the one holding the betas as dataset.`,
  );
}

function elementTypeOf(dataset: H5Dataset, name: string): ElementType {
  const meta = dataset.metadata;
  if (
    (meta.type !== 0 && meta.type !== 1) ||
    meta.vlen ||
    ![1, 2, 4, 8].includes(meta.size) ||
    (meta.type === 1 && meta.size === 1)
  ) {
    throw new ApiError(
      "unsupported_format",
      `Dataset '${name}' does not hold plain numbers (strings, compound or reference data). Point dataset at the betas array.`,
    );
  }
  return {
    kind: meta.type === 1 ? "f" : meta.signed ? "i" : "u",
    bytes: meta.size as ElementType["bytes"],
    littleEndian: meta.littleEndian,
  };
}

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** Opens one dataset of an HDF5 file (MATLAB v7.3 .mat included: HDF5 skips the 512-byte user block). */
export async function openHdf5(
  path: string,
  options: { dataset?: string; layout?: LayoutRequest },
  limits: BetaLimits,
): Promise<BetaFile> {
  await ready;
  const file = new h5wasm.File(path, "r");
  const close = async () => {
    file.close();
  };
  try {
    let keys: string[];
    try {
      keys = file.keys();
    } catch (error) {
      throw new ApiError(
        "invalid_file",
        "This HDF5 file could not be opened: it is damaged or incomplete. Upload it again.",
        {
          cause: error,
        },
      );
    }
    refuseMinc(keys);
    const { name, dataset } = chooseDataset(file, options.dataset);
    const type = elementTypeOf(dataset, name);
    const shape = dataset.shape ?? [];
    if (shape.length === 0 || shape.includes(0)) {
      throw new ApiError(
        "invalid_file",
        `Dataset '${name}' is empty or a scalar. Point dataset at the betas array.`,
      );
    }
    const resolved = resolveLayout(shape, options.layout, "hdf5");
    if (resolved.roles.includes("t") && resolved.roles[0] !== "t") {
      throw new ApiError(
        "invalid_file",
        `Layout '${resolved.name}' puts trials last, which HDF5 reads cannot stream. Store trials on the first ` +
          "axis (h5py: (trials, z, y, x) or (trials, voxels)), or send NIfTI.",
      );
    }
    checkDeclaredSize(shape, type.bytes, limits);
    const hasTrialAxis = resolved.roles[0] === "t";
    const storage: StoredArray = {
      dims: hasTrialAxis ? [...shape] : [1, ...shape],
      roles: hasTrialAxis ? resolved.roles : (["t", ...resolved.roles] as AxisRole[]),
    };
    const slabs = new SlabReader(dataset, name, type, storage, hasTrialAxis);
    return {
      format: "hdf5",
      dtype: describeElementType(type),
      shape,
      layout: resolved.name,
      trials: storage.dims[0]!,
      grid: gridOf(storage),
      voxelsPerTrial: voxelsPerTrial(storage),
      scaling: null,
      dataset: name,
      compressed: (dataset.metadata.chunks ?? null) !== null && dataset.filters.length > 0,
      storage,
      blocks: () => slabs.blocks(),
      gatherAllTrials: async (offsets) => slabs.gather(offsets),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Reads [trials, axis-1] slabs of a dataset stored as (trials, axis1, ...rest), each verified. */
class SlabReader {
  readonly trials: number;
  readonly planes: number;
  readonly inner: number;
  readonly chunks: number[];

  constructor(
    private dataset: H5Dataset,
    private name: string,
    private type: ElementType,
    storage: StoredArray,
    private hasTrialAxis: boolean,
  ) {
    const [trials, planes = 1, ...rest] = storage.dims;
    this.trials = trials!;
    this.planes = planes;
    this.inner = rest.reduce((product, dim) => product * dim, 1);
    const chunks = dataset.metadata.chunks ?? storage.dims.slice(hasTrialAxis ? 0 : 1);
    this.chunks = hasTrialAxis ? chunks : [1, ...chunks];
  }

  /** Planes per read for `trialCount` trials, within the byte and chunk budgets (at least one). */
  planesPerRead(trialCount: number): number {
    const [c0 = 1, c1 = 1, ...restChunks] = this.chunks;
    const rest = this.restDims();
    const chunksPerPlane =
      Math.ceil(trialCount / c0) * restChunks.reduce((n, c, i) => n * Math.ceil(rest[i]! / c), 1);
    const byBytes = Math.floor(SLAB_BYTES / (trialCount * this.inner * this.type.bytes));
    const byChunks = Math.floor((SLAB_CHUNKS * c1) / chunksPerPlane);
    return Math.max(1, Math.min(this.planes, byBytes, byChunks));
  }

  restDims(): number[] {
    const shape = this.dataset.shape ?? [];
    return shape.slice(this.hasTrialAxis ? 2 : 1);
  }

  ranges(t0: number, t1: number, a0: number, a1: number): [number, number][] {
    return this.hasTrialAxis
      ? [
          [t0, t1],
          [a0, a1],
        ]
      : [[a0, a1]];
  }

  read(t0: number, t1: number, a0: number, a1: number): Float32Array {
    const expected = (t1 - t0) * (a1 - a0) * this.inner;
    const raw = this.dataset.slice(this.ranges(t0, t1, a0, a1));
    const values = this.decode(raw);
    if (!values || values.length !== expected) this.fail();
    this.verify(values, t0, a0, a1);
    return values;
  }

  decode(raw: unknown): Float32Array | null {
    if (!ArrayBuffer.isView(raw) || raw instanceof DataView) return null;
    return toFloat32(raw as Float32Array, null);
  }

  /** Re-reads single elements (first, last, largest, and two spread out) and compares. */
  verify(values: Float32Array, t0: number, a0: number, a1: number): void {
    let largest = 0;
    for (let i = 0; i < values.length; i++)
      if (Math.abs(values[i]!) > Math.abs(values[largest]!)) largest = i;
    const probes = [
      0,
      values.length - 1,
      largest,
      Math.floor(values.length / 3),
      Math.floor((values.length * 5) / 7),
    ];
    const planeSize = (a1 - a0) * this.inner;
    const rest = this.restDims();
    for (const probe of probes) {
      const t = t0 + Math.floor(probe / planeSize);
      const withinSlab = probe % planeSize;
      const a = a0 + Math.floor(withinSlab / this.inner);
      let within = withinSlab % this.inner;
      const restIndex = new Array<number>(rest.length);
      for (let i = rest.length - 1; i >= 0; i--) {
        restIndex[i] = within % rest[i]!;
        within = Math.floor(within / rest[i]!);
      }
      const ranges = [
        ...this.ranges(t, t + 1, a, a + 1),
        ...restIndex.map((r): [number, number] => [r, r + 1]),
      ];
      const single = this.decode(this.dataset.slice(ranges));
      if (single?.length !== 1 || !sameValue(single[0]!, values[probe]!)) this.fail();
    }
  }

  fail(): never {
    throw new ApiError(
      "invalid_file",
      `Reading dataset '${this.name}' gave inconsistent values (its chunk layout is too fine for this reader). ` +
        "Re-save it contiguous or with larger chunks (h5py: chunks=None), or send the betas as NIfTI or NPY.",
    );
  }

  async *blocks(): AsyncGenerator<TrialBlock> {
    const perTrial = this.planes * this.inner;
    const perBlock = Math.max(1, Math.min(this.trials, Math.floor(BLOCK_BYTES / (perTrial * 4))));
    for (let t0 = 0; t0 < this.trials; t0 += perBlock) {
      const t1 = Math.min(this.trials, t0 + perBlock);
      const values = new Float32Array((t1 - t0) * perTrial);
      const step = this.planesPerRead(t1 - t0);
      for (let a0 = 0; a0 < this.planes; a0 += step) {
        const a1 = Math.min(this.planes, a0 + step);
        const slab = this.read(t0, t1, a0, a1);
        const run = (a1 - a0) * this.inner;
        for (let t = 0; t < t1 - t0; t++)
          values.set(slab.subarray(t * run, (t + 1) * run), t * perTrial + a0 * this.inner);
      }
      yield { firstTrial: t0, count: t1 - t0, trialStride: perTrial, values };
    }
  }

  /** The given within-trial offsets of every trial: by runs of wanted voxels where chunks are small, else by slabs. */
  gather(offsets: Int32Array): Float32Array {
    const order = sortedOrder(offsets);
    const runs = this.runsOf(offsets, order);
    return runs ? this.gatherRuns(offsets, order, runs) : this.gatherSlabs(offsets, order);
  }

  /**
   * Wanted offsets grouped into runs along the last axis, when reading only their chunks beats reading
   * every chunk: NSD's one-chunk-per-voxel layout (750x1x1x1) touches a few percent of its chunks for a
   * brain mask. Runs a few unwanted chunks apart are read as one, since each read costs far more than a
   * chunk. Null for contiguous data or chunks big enough that slabs read little waste.
   */
  runsOf(offsets: Int32Array, order: Int32Array): Run[] | null {
    const spatial = this.chunks.slice(1);
    if (!this.dataset.metadata.chunks || spatial.reduce((a, b) => a * b, 1) > 64) return null;
    const last = this.restDims().at(-1) ?? this.planes;
    const lastChunk = spatial.at(-1) ?? 1;
    const runs: Run[] = [];
    for (let i = 0; i < order.length; ) {
      const first = offsets[order[i]!]!;
      const rowEnd = first - (first % last) + last;
      let members = 1;
      let end = first + 1;
      // A run stays within one row of the last axis, so it is one hyperslab.
      while (i + members < order.length) {
        const next = offsets[order[i + members]!]!;
        if (
          next >= rowEnd ||
          Math.floor(next / lastChunk) - Math.floor((end - 1) / lastChunk) > MERGE_GAP_CHUNKS + 1
        )
          break;
        end = next + 1;
        members++;
      }
      runs.push({ start: i, members, first, count: end - first });
      i += members;
    }
    const touched = runs.reduce((n, r) => n + Math.ceil(r.count / lastChunk) + 1, 0);
    const total = (this.planes * this.inner) / spatial.reduce((a, b) => a * b, 1);
    return touched * 4 < total ? runs : null;
  }

  /**
   * Reads each run's chunks once for all trials. Values are staged voxel by voxel (each run's read is
   * [trials, run], so a voxel's trials land contiguously) and transposed to [trials, voxels] in tiles:
   * writing straight into trial rows would touch a cache line per value.
   */
  gatherRuns(offsets: Int32Array, order: Int32Array, runs: Run[]): Float32Array {
    const n = offsets.length;
    const trials = this.trials;
    const byVoxel = new Float32Array(n * trials);
    const dims = [this.planes, ...this.restDims()];
    const trialsPerRead = Math.max(1, Math.min(trials, this.chunks[0]!));
    for (let t0 = 0; t0 < trials; t0 += trialsPerRead) {
      const t1 = Math.min(trials, t0 + trialsPerRead);
      const span = t1 - t0;
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r]!;
        const index = new Array<number>(dims.length);
        let within = run.first;
        for (let d = dims.length - 1; d >= 0; d--) {
          index[d] = within % dims[d]!;
          within = Math.floor(within / dims[d]!);
        }
        const ranges: [number, number][] = index.map((at, d) =>
          d === dims.length - 1 ? [at, at + run.count] : [at, at + 1],
        );
        const slab = this.numbers(this.dataset.slice(this.hasTrialAxis ? [[t0, t1], ...ranges] : ranges));
        if (!slab || slab.length !== span * run.count) this.fail();
        // Each run reads a handful of chunks, far from h5wasm's failure sizes; every 64th is re-probed.
        if (r % 64 === 0 || r === runs.length - 1) this.probeRun(slab, run, index, ranges, t0);
        for (let i = run.start; i < run.start + run.members; i++) {
          const k = order[i]!;
          const at = offsets[k]! - run.first;
          const base = k * trials + t0;
          for (let t = 0; t < span; t++) byVoxel[base + t] = slab[t * run.count + at]!;
        }
      }
    }
    return transpose(byVoxel, n, trials);
  }

  /** Re-reads the middle element of a run's slab on its own and compares. */
  probeRun(slab: ArrayLike<number>, run: Run, index: number[], ranges: [number, number][], t0: number): void {
    const probe = Math.floor(slab.length / 2);
    const t = t0 + Math.floor(probe / run.count);
    const x = index.at(-1)! + (probe % run.count);
    const single = this.decode(
      this.dataset.slice([
        ...(this.hasTrialAxis ? [[t, t + 1] as [number, number]] : []),
        ...ranges.slice(0, -1),
        [x, x + 1],
      ]),
    );
    if (single?.length !== 1 || !sameValue(single[0]!, slab[probe]!)) this.fail();
  }

  /** A slab's values as numbers without copying (64-bit integers, which h5wasm returns as BigInts, converted). */
  numbers(raw: unknown): ArrayLike<number> | null {
    if (!ArrayBuffer.isView(raw) || raw instanceof DataView) return null;
    if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) return toFloat32(raw, null);
    return raw as unknown as ArrayLike<number>;
  }

  /** The given within-trial offsets of every trial, reading each slab once across all trials. */
  gatherSlabs(offsets: Int32Array, order: Int32Array): Float32Array {
    const n = offsets.length;
    const out = new Float32Array(this.trials * n);
    const trialsPerRead = Math.max(
      1,
      Math.min(this.trials, Math.floor(SLAB_BYTES / (this.inner * this.type.bytes))),
    );
    for (let t0 = 0; t0 < this.trials; t0 += trialsPerRead) {
      const t1 = Math.min(this.trials, t0 + trialsPerRead);
      const step = this.planesPerRead(t1 - t0);
      let next = 0;
      for (let a0 = 0; a0 < this.planes; a0 += step) {
        const a1 = Math.min(this.planes, a0 + step);
        const slab = this.read(t0, t1, a0, a1);
        const low = a0 * this.inner;
        const high = a1 * this.inner;
        const run = high - low;
        for (; next < n && offsets[order[next]!]! < high; next++) {
          const k = order[next]!;
          const at = offsets[k]! - low;
          for (let t = t0; t < t1; t++) out[t * n + k] = slab[(t - t0) * run + at]!;
        }
      }
    }
    return out;
  }
}
