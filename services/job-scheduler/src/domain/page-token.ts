/** Where a page of the job list ends: the last job's (created_at, job_id), the keyset of the order. */
export interface PageCursor {
  createdAt: Date;
  jobId: string;
}

/** Encodes a cursor as an opaque token (base64url JSON, versioned). */
export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, c: cursor.createdAt.toISOString(), j: cursor.jobId }), "utf8").toString(
    "base64url",
  );
}

/** Reads a token made by {@link encodePageToken}; null when it is not one. */
export function decodePageToken(token: string): PageCursor | null {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const { v, c, j } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof c !== "string" || typeof j !== "string" || j.length === 0) return null;
  const createdAt = new Date(c);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== c) return null;
  return { createdAt, jobId: j };
}
