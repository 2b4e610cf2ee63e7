import type { Sql } from "../../db/database.ts";
import { newId } from "../../ids.ts";

/** A lab row to own test jobs (labs are created by core/auth in the service). */
export async function createLab(db: Sql): Promise<string> {
  const id = newId("lab");
  await db.query("insert into labs (id, name) values ($1, $2)", [id, id]);
  return id;
}
