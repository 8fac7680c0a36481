export { openDatabase, type Database, type DatabaseKind, type DatabaseOptions } from "./database.js";
export type { DatabaseHealth } from "./health.js";
export { migrateToLatest, type MigrateOptions } from "./migrate.js";
export {
  DatabaseError,
  MigrationError,
  UNIQUE_VIOLATION,
  isUniqueViolation,
  pgErrorCode,
  type DatabaseErrorCode,
} from "./errors.js";
export { redactUrl } from "./redact.js";
