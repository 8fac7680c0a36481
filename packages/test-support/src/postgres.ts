import { randomBytes } from "node:crypto";
import pg from "pg";

/** Creates a uniquely named database on the server of `baseUrl`; returns its URL and a dropper. */
export async function createScratchDatabase(baseUrl: string, prefix = "asgard_test"): Promise<{
  url: string;
  adminUrl: string;
  drop(): Promise<void>;
}> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = new URL(baseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    adminUrl: admin.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
