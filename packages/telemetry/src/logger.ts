import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/** Fields that may carry secrets are censored wherever they appear in a log object. */
const REDACT = [
  "password",
  "secret",
  "token",
  "authorization",
  "headers.authorization",
  "*.password",
  "*.secret",
  "*.token",
  "*.authorization",
  "*.secretAccessKey",
  "*.accessKeyId",
  "databaseUrl",
  "*.databaseUrl",
];

/** A pino logger for one service; JSON lines on stdout, secrets redacted. */
export function createLogger(service: string, level = "info"): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
