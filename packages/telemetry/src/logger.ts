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

/** Where log lines go instead of stdout (tests read a service's lines back). */
export interface LogDestination {
  write(line: string): void;
}

/** A pino logger for one service; JSON lines on stdout (or `destination`), secrets redacted. */
export function createLogger(service: string, level = "info", destination?: LogDestination): Logger {
  const options = {
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
