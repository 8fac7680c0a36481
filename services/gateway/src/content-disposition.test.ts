import { describe, expect, it } from "vitest";
import { inlineDisposition } from "./content-disposition.js";

describe("inlineDisposition", () => {
  it("quotes a plain ASCII name as it is", () => {
    expect(inlineDisposition("train_rf.py")).toBe('inline; filename="train_rf.py"');
    expect(inlineDisposition("train")).toBe('inline; filename="train"');
  });

  it("adds the exact name as filename* when the ASCII form had to change it", () => {
    expect(inlineDisposition("entraîner.py")).toBe("inline; filename=\"entra_ner.py\"; filename*=UTF-8''entra%C3%AEner.py");
    expect(inlineDisposition('a"b\\c.py')).toBe("inline; filename=\"a_b_c.py\"; filename*=UTF-8''a%22b%5Cc.py");
  });

  it("percent-encodes the characters RFC 5987 does not allow bare", () => {
    expect(inlineDisposition("it's (v1)*é.py")).toContain("filename*=UTF-8''it%27s%20%28v1%29%2A%C3%A9.py");
  });
});
