import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writePrivateFile } from "@asgard/tools";

/** What an MLflow with basic auth needs; generated once per data directory, never logged. */
export const MlflowSecrets = z.object({
  admin_username: z.string().min(1),
  admin_password: z.string().min(12),
  /** Flask's session and CSRF key. */
  flask_secret_key: z.string().min(32),
  /** What the runners derive tenants' MLflow passwords from (MLFLOW_TENANT_SECRET). */
  tenant_secret: z.string().min(32),
});
export type MlflowSecrets = z.infer<typeof MlflowSecrets>;

export const generateMlflowSecrets = (): MlflowSecrets => ({
  admin_username: "asgard-admin",
  admin_password: randomBytes(24).toString("base64url"),
  flask_secret_key: randomBytes(32).toString("base64url"),
  tenant_secret: randomBytes(32).toString("base64url"),
});

/** The file holding them: readable by this user only. */
export const mlflowSecretsPath = (dataDir: string) => join(dataDir, "secrets", "mlflow.json");

/** Reads the data directory's MLflow secrets, generating them (0600) on the first start. */
export async function loadOrCreateMlflowSecrets(dataDir: string): Promise<MlflowSecrets> {
  const path = mlflowSecretsPath(dataDir);
  try {
    return MlflowSecrets.parse(JSON.parse(await readFile(path, "utf8")));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${path} is not a valid MLflow secrets file; move it away to generate a new one`, { cause: err });
    }
  }
  const secrets = generateMlflowSecrets();
  await mkdir(join(dataDir, "secrets"), { recursive: true, mode: 0o700 });
  await writePrivateFile(path, `${JSON.stringify(secrets, null, 2)}\n`, { exclusive: true });
  return secrets;
}
