import { hash, randomBytes } from "node:crypto";
import { ApiError } from "../contracts/errors.ts";
import type { Sql } from "../db/database.ts";
import { newId } from "../ids.ts";

/** Keys look like `mk_<32 random bytes, base64url>`; the first 11 characters are kept as a visible prefix. */
const KEY_PREFIX = "mk_";
const VISIBLE_PREFIX_LENGTH = 11;

export interface Lab {
  id: string;
  name: string;
}

export interface ApiKeyInfo {
  id: string;
  labId: string;
  labName: string;
  prefix: string;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface KeyRow {
  id: string;
  lab_id: string;
  lab_name: string;
  prefix: string;
  name: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const toInfo = (r: KeyRow): ApiKeyInfo => ({
  id: r.id,
  labId: r.lab_id,
  labName: r.lab_name,
  prefix: r.prefix,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

// Keys carry 256 random bits, so a fast unsalted hash is enough: there is nothing to brute-force.
const hashKey = (key: string) => hash("sha256", key, "hex");

const KEY_COLUMNS = `k.id, k.lab_id, l.name as lab_name, k.prefix, k.name, k.created_at, k.last_used_at, k.revoked_at`;

/** Labs and their API keys. Only a hash of each key is stored; the key itself is shown once, at creation. */
export class ApiKeyStore {
  /**
   * Keys verified in the last `cacheMs`, so a busy lab costs no database round trip per request. A key
   * revoked through this store stops at once; one revoked by another process within `cacheMs`. Held by
   * the presented key itself, not its hash: hashing was most of a cached request's cost; expired entries
   * are swept (at most once per cache period) as new ones arrive.
   */
  readonly #verified = new Map<string, { lab: Lab & { keyId: string }; until: number }>();
  #sweptAt = 0;

  constructor(
    private readonly db: Sql,
    private readonly cacheMs = 5_000,
  ) {}

  async ensureLab(name: string): Promise<Lab> {
    const [existing] = await this.db.query<Lab>("select id, name from labs where name = $1", [name]);
    if (existing) return existing;
    const [created] = await this.db.query<Lab>(
      "insert into labs (id, name) values ($1, $2) on conflict (name) do update set name = excluded.name returning id, name",
      [newId("lab"), name],
    );
    return created!;
  }

  /** Creates a key for the lab (creating the lab if needed); the returned `key` is never retrievable again. */
  async create(labName: string, keyName?: string): Promise<{ key: string; info: ApiKeyInfo }> {
    const lab = await this.ensureLab(labName);
    const key = KEY_PREFIX + randomBytes(32).toString("base64url");
    const id = newId("key");
    await this.db.query(
      "insert into api_keys (id, lab_id, prefix, key_hash, name) values ($1, $2, $3, $4, $5)",
      [id, lab.id, key.slice(0, VISIBLE_PREFIX_LENGTH), hashKey(key), keyName ?? null],
    );
    const [row] = await this.db.query<KeyRow>(
      `select ${KEY_COLUMNS} from api_keys k join labs l on l.id = k.lab_id where k.id = $1`,
      [id],
    );
    return { key, info: toInfo(row!) };
  }

  /** The lab a bearer key belongs to, or an `unauthorized` error for a missing, unknown or revoked key. */
  async authenticate(key: string | undefined): Promise<Lab & { keyId: string }> {
    if (!key?.startsWith(KEY_PREFIX)) {
      throw new ApiError("unauthorized", "Send your API key as `Authorization: Bearer mk_...`.");
    }
    const cached = this.verifiedLab(key);
    if (cached) return cached;
    const keyHash = hashKey(key);
    const [row] = await this.db.query<{ key_id: string; id: string; name: string; revoked_at: Date | null }>(
      `select k.id as key_id, l.id, l.name, k.revoked_at
         from api_keys k join labs l on l.id = k.lab_id where k.key_hash = $1`,
      [keyHash],
    );
    if (!row)
      throw new ApiError("unauthorized", "This API key is not known. Create one with `mindeye keys create`.");
    if (row.revoked_at)
      throw new ApiError("unauthorized", "This API key was revoked. Use another key of your lab.");
    // Written when the key is looked up, so at most once per cache period: last_used_at is for humans
    // auditing keys, not for billing.
    await this.db.query("update api_keys set last_used_at = now() where id = $1", [row.key_id]);
    const lab = { id: row.id, name: row.name, keyId: row.key_id };
    this.#sweepExpired();
    this.#verified.set(key, { lab, until: Date.now() + this.cacheMs });
    return lab;
  }

  /**
   * The lab of a key verified within the cache period, without waiting: what `authenticate` answers for
   * it, which lets a caller skip an async step on the common path. Undefined means ask `authenticate`.
   */
  verifiedLab(key: string): (Lab & { keyId: string }) | undefined {
    const cached = this.#verified.get(key);
    return cached && cached.until > Date.now() ? cached.lab : undefined;
  }

  async list(labName?: string): Promise<ApiKeyInfo[]> {
    const rows = await this.db.query<KeyRow>(
      `select ${KEY_COLUMNS} from api_keys k join labs l on l.id = k.lab_id
        where ($1::text is null or l.name = $1) order by k.created_at, k.id`,
      [labName ?? null],
    );
    return rows.map(toInfo);
  }

  /** Revokes by key id or visible prefix; revoking twice is harmless. */
  async revoke(idOrPrefix: string): Promise<ApiKeyInfo> {
    const matches = await this.db.query<KeyRow>(
      `select ${KEY_COLUMNS} from api_keys k join labs l on l.id = k.lab_id where k.id = $1 or k.prefix = $1`,
      [idOrPrefix],
    );
    if (matches.length === 0)
      throw new ApiError("not_found", `No API key has the id or prefix ${idOrPrefix}.`);
    if (matches.length > 1) {
      throw new ApiError(
        "conflict",
        `Several keys share the prefix ${idOrPrefix}; revoke by key id instead.`,
      );
    }
    const [row] = await this.db.query<{ revoked_at: Date }>(
      "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning revoked_at",
      [matches[0]!.id],
    );
    for (const [key, entry] of this.#verified) {
      if (entry.lab.keyId === matches[0]!.id) this.#verified.delete(key);
    }
    return { ...toInfo(matches[0]!), revokedAt: row!.revoked_at };
  }

  #sweepExpired(): void {
    const now = Date.now();
    if (now < this.#sweptAt + this.cacheMs) return;
    this.#sweptAt = now;
    for (const [key, entry] of this.#verified) if (entry.until <= now) this.#verified.delete(key);
  }
}
