import { Counter, Histogram, type Registry } from "@asgard/telemetry";

export interface RunnerMetrics {
  jobs: Counter<"outcome">;
  jobSeconds: Histogram<string>;
  envCache: Counter<"result">;
  envBuilds: Counter<"result">;
  envBuildSeconds: Histogram<string>;
  logLines: Counter<"stream">;
}

export function createRunnerMetrics(registry: Registry): RunnerMetrics {
  const registers = [registry];
  return {
    jobs: new Counter({ name: "asgard_runner_attempts_total", help: "Job attempts finished, by outcome", labelNames: ["outcome"], registers }),
    jobSeconds: new Histogram({
      name: "asgard_runner_attempt_duration_seconds",
      help: "Wall time of job attempts (environment, script, finalisation)",
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
    envCache: new Counter({ name: "asgard_env_cache_total", help: "Environment cache lookups by result (hit/miss)", labelNames: ["result"], registers }),
    envBuilds: new Counter({ name: "asgard_env_builds_total", help: "Environment builds by result", labelNames: ["result"], registers }),
    envBuildSeconds: new Histogram({
      name: "asgard_env_build_duration_seconds",
      help: "Seconds spent building environments that were not cached",
      buckets: [1, 2, 5, 10, 20, 40, 80, 160, 320, 640],
      registers,
    }),
    logLines: new Counter({ name: "asgard_job_log_lines_total", help: "Script output lines forwarded", labelNames: ["stream"], registers }),
  };
}
