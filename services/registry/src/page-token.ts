import { BusError } from "@asgard/bus";

/**
 * Page tokens of the model list: the last name of the previous page, opaque to clients. A
 * cursor on the name (not an offset) keeps paging stable while models are added or removed.
 */
export function encodePageToken(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName }), "utf8").toString("base64url");
}

/** The name to continue after; VALIDATION_FAILED for a token this registry did not give out. */
export function decodePageToken(token: string): string {
  const invalid = () =>
    new BusError("VALIDATION_FAILED", "page_token is not a token this API gave out; send the X-Next-Page-Token of the previous page, or leave it out for the first page", {
      issues: [{ field: "page_token", message: "is not a token this API gave out" }],
    });
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && typeof (value as { after?: unknown }).after === "string") {
      return (value as { after: string }).after;
    }
  } catch {
    // Falls through to the refusal.
  }
  throw invalid();
}
