/** Body of every 4xx/5xx answer of the API (its `ErrorBody`). */
export interface ApiErrorBody {
  error?: string;
  message?: string;
  issues?: { field: string; message: string }[];
  retry_after_seconds?: number;
}

/** The API answered with an error status. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | null,
    readonly retryAfter: string | null,
  ) {
    super(body?.message ?? `the API answered HTTP ${status}`);
  }
}

/** The API could not be reached at all (refused, unknown host, timed out). */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach the Asgard API at ${url} (${reason})`, options);
  }
}

/** The user's input is wrong before any request is made (a file, a flag's value). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** A request failed, or the followed job failed. */
  failure: 1,
  /** Wrong arguments or input. */
  usage: 2,
  /** The followed job was cancelled. */
  cancelled: 3,
  /** Ctrl-C: stopped following, the job goes on. */
  interrupted: 130,
} as const;

/** What the user reads for an error: the API's message, then what to do about it. */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: error.message, exitCode: EXIT.usage };
  if (error instanceof ConnectionError) {
    return {
      message: `${error.message}.\nIs the platform up? Start it with \`npm start\` in the Asgard clone, or point ASGARD_URL (or --url) at the gateway.`,
      exitCode: EXIT.failure,
    };
  }
  if (error instanceof ApiError) return { message: describeApiError(error), exitCode: EXIT.failure };
  const message = error instanceof Error ? error.message : String(error);
  return { message, exitCode: EXIT.failure };
}

function describeApiError(error: ApiError): string {
  const lines = [`${error.message} (HTTP ${error.status})`];
  for (const issue of error.body?.issues ?? []) lines.push(`  ${issue.field || "(body)"}: ${issue.message}`);
  const wait = error.body?.retry_after_seconds ?? (error.retryAfter === null ? undefined : Number(error.retryAfter));
  switch (error.status) {
    case 401:
      lines.push("Set ASGARD_API_KEY (or pass --api-key) to a key an admin made with `asgard keys create` or `npm run keys -- create`.");
      break;
    case 403:
      lines.push("Use a key with one of the scopes the message names (an admin can make one with `asgard keys create --scope …`).");
      break;
    case 429:
    case 503:
      if (wait !== undefined && Number.isFinite(wait)) lines.push(`Try again in ${wait} s.`);
      break;
    default:
      if (error.status >= 500) lines.push("The platform failed to answer; its gateway log says why.");
  }
  return lines.join("\n");
}
