/**
 * `Content-Disposition: inline` naming a file. The quoted `filename` is plain ASCII (other
 * characters, quotes and backslashes become "_") because header values are Latin-1 and
 * clients parse quoted-pairs unevenly; when that changed the name, the exact name follows
 * as RFC 5987 `filename*`.
 */
export function inlineDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  if (ascii === fileName) return `inline; filename="${ascii}"`;
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(fileName)}`;
}

function encodeRfc5987(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
