/**
 * The two Node `Buffer` calls the contracts' upload checks make (decoding base64, measuring
 * UTF-8), for the browser. esbuild injects it wherever bundled code names `Buffer`, so the
 * console runs the API's own rules unchanged.
 */
export const Buffer = {
  from(text: string, encoding: "base64"): Uint8Array {
    if (encoding !== "base64") throw new Error(`Buffer.from(_, "${encoding}") is not available in the console`);
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  },
  byteLength(text: string, encoding: "utf8"): number {
    if (encoding !== "utf8") throw new Error(`Buffer.byteLength(_, "${encoding}") is not available in the console`);
    return new TextEncoder().encode(text).length;
  },
};
