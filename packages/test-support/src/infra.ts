/**
 * What the harness started for this test run. Tests read it with `inject("infra")`.
 * Every server is real and private to the run (own ports, own stores, own database).
 */
export interface TestInfra {
  natsUrl: string;
  mlflowUrl: string;
  /**
   * A fresh PostgreSQL database for this run (on DATABASE_URL's server, else on the run's
   * own). Null only for a harness that provides none.
   */
  databaseUrl: string | null;
  /** Server URL of the PostgreSQL cluster (without database) for tests that create their own. */
  postgresAdminUrl: string | null;
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    bucket: string;
  } | null;
  /** A scratch directory removed after the run. */
  workDir: string;
}
