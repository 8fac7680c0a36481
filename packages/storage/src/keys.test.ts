import { describe, expect, it } from "vitest";
import { StorageError } from "./errors.js";
import { joinKey, MAX_KEY_BYTES, TEMP_NAME_PREFIX, validateKey, validatePrefix } from "./keys.js";

describe("validateKey", () => {
  it("accepts ordinary keys", () => {
    for (const key of ["a", "a/b/c.txt", "models/m-1/v_2/model.onnx", "ünïcode/ключ", "a b/.hidden", "..dots.."]) {
      expect(validateKey(key)).toBe(key);
    }
    expect(validateKey("x".repeat(MAX_KEY_BYTES))).toHaveLength(MAX_KEY_BYTES);
  });

  it.each([
    ["", "empty"],
    ["/a", "absolute"],
    ["a//b", "empty segment"],
    ["a/", "empty segment"],
    ["..", '".." segment'],
    ["a/../b", '".." segment'],
    ["./a", '"." segment'],
    ["a\\b", "backslash"],
    ["a\nb", "control character"],
    [`a/${TEMP_NAME_PREFIX}1`, "reserved"],
    ["é".repeat(MAX_KEY_BYTES / 2 + 1), "longer than"],
  ])("rejects %j (%s)", (key, why) => {
    let caught: unknown;
    try {
      validateKey(key);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StorageError);
    expect((caught as StorageError).code).toBe("INVALID_KEY");
    expect((caught as StorageError).message).toContain(why);
  });
});

describe("validatePrefix", () => {
  it("accepts empty, partial and folder prefixes", () => {
    for (const prefix of ["", "runs", "runs/", "runs/1", "runs/1/"]) expect(validatePrefix(prefix)).toBe(prefix);
  });

  it("rejects what no key could start with", () => {
    for (const prefix of ["/", "/runs", "runs//", "../", "a/./"]) {
      expect(() => validatePrefix(prefix), prefix).toThrow(StorageError);
    }
  });
});

describe("joinKey", () => {
  it("joins with single slashes and drops empty parts", () => {
    expect(joinKey("cas/", "/abc")).toBe("cas/abc");
    expect(joinKey("", "abc")).toBe("abc");
    expect(joinKey("a", "", "b/")).toBe("a/b");
  });
});
