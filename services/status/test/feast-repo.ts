import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureFeastVenv, run } from "@asgard/tools";

/**
 * Builds a real Feast registry file with `feast apply` in `dir`: one entity and
 * `views.length` feature views in project `project`. Returns the registry file path.
 */
export async function buildFeastRegistry(dir: string, project: string, views: string[]): Promise<string> {
  const venv = await ensureFeastVenv();
  await mkdir(join(dir, "data"), { recursive: true });
  await writeFile(
    join(dir, "feature_store.yaml"),
    [
      `project: ${project}`,
      "provider: local",
      "registry: data/registry.db",
      "online_store:",
      "  type: sqlite",
      "  path: data/online.db",
      "entity_key_serialization_version: 3",
      "",
    ].join("\n"),
  );
  await writeFile(
    join(dir, "features.py"),
    [
      "from datetime import timedelta",
      "from feast import Entity, FeatureView, Field, FileSource",
      "from feast.types import Float32, Int64",
      'driver = Entity(name="driver", join_keys=["driver_id"])',
      'source = FileSource(path="data/driver_stats.parquet", timestamp_field="event_timestamp")',
      ...views.map(
        (name, i) =>
          `view_${i} = FeatureView(name=${JSON.stringify(name)}, entities=[driver], ttl=timedelta(days=1), ` +
          `schema=[Field(name="conv_rate", dtype=Float32), Field(name="trips", dtype=Int64)], source=source)`,
      ),
      "",
    ].join("\n"),
  );
  const python = join(venv, "bin", "python");
  await run(
    python,
    [
      "-c",
      "import pandas as pd, datetime as dt\n" +
        "pd.DataFrame({'driver_id':[1,2],'conv_rate':[0.5,0.7],'trips':[3,4]," +
        "'event_timestamp':[dt.datetime(2025,1,1,tzinfo=dt.timezone.utc)]*2}).to_parquet('data/driver_stats.parquet')",
    ],
    { cwd: dir },
  );
  await run(join(venv, "bin", "feast"), ["apply"], { cwd: dir, timeoutMs: 180_000, env: { ...process.env, FEAST_USAGE: "False" } });
  return join(dir, "data", "registry.db");
}
