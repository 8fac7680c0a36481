import { execFileSync, spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { completionScript } from "../src/completion.js";
import { ApiError, ConnectionError, describeError, EXIT, UsageError } from "../src/errors.js";
import { colours, table, type Io } from "../src/output.js";
import { createProgram } from "../src/program.js";
import type { Context } from "../src/context.js";

const sink = (tty: boolean) => Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: tty });
const io = (tty: boolean, env: NodeJS.ProcessEnv = {}): Io => ({ stdout: sink(tty), stderr: sink(tty), stdin: Readable.from([]), env });
const ctx = (): Context => ({ io: io(false), interrupts: { on: () => {}, off: () => {} }, ask: async () => null, exitCode: 0 });

describe("error messages", () => {
  it("a refused connection says to start the platform or set ASGARD_URL", () => {
    const { message, exitCode } = describeError(new ConnectionError("http://127.0.0.1:8000", "ECONNREFUSED"));
    expect(message).toContain("npm start");
    expect(message).toContain("ASGARD_URL");
    expect(exitCode).toBe(EXIT.failure);
  });

  it("a 401 keeps the API's message and says to set ASGARD_API_KEY", () => {
    const { message } = describeError(new ApiError(401, { error: "UNAUTHORIZED", message: "this route needs an API key" }, null));
    expect(message).toMatch(/^this route needs an API key \(HTTP 401\)/);
    expect(message).toContain("ASGARD_API_KEY");
  });

  it("a 422 lists every field the API named", () => {
    const body = { error: "VALIDATION_FAILED", message: "the body is invalid", issues: [{ field: "requirements.0", message: "pip options are not accepted" }, { field: "timeout", message: "must be at most 3600" }] };
    const { message } = describeError(new ApiError(422, body, null));
    expect(message.split("\n")).toEqual(["the body is invalid (HTTP 422)", "  requirements.0: pip options are not accepted", "  timeout: must be at most 3600"]);
  });

  it("a 429 or 503 says when to try again", () => {
    expect(describeError(new ApiError(503, { message: "no snapshot yet" }, "2")).message).toContain("Try again in 2 s.");
    expect(describeError(new ApiError(429, { message: "slow down", retry_after_seconds: 7 }, null)).message).toContain("Try again in 7 s.");
  });

  it("wrong input is a usage error (exit 2)", () => {
    expect(describeError(new UsageError("give --json or --csv")).exitCode).toBe(EXIT.usage);
  });
});

describe("output", () => {
  it("aligns a table with a header on a terminal; tab-separated rows without one when piped", () => {
    const rows = [["a", "completed"], ["bbbb", "failed"]];
    expect(table(io(true, { NO_COLOR: "1" }), ["ID", "STATUS"], rows)).toBe("ID    STATUS\na     completed\nbbbb  failed\n");
    expect(table(io(false), ["ID", "STATUS"], rows)).toBe("a\tcompleted\nbbbb\tfailed\n");
  });

  it("colours only a terminal, and not with NO_COLOR", () => {
    expect(colours({ isTTY: true }, {}).red("x")).toBe("\x1b[31mx\x1b[0m");
    expect(colours({ isTTY: true }, { NO_COLOR: "1" }).red("x")).toBe("x");
    expect(colours({ isTTY: false }, {}).red("x")).toBe("x");
  });
});

describe("shell completion", () => {
  const script = completionScript(createProgram(ctx(), "0.0.0"), "bash");
  const complete = (line: string) => {
    const words = line.split(" ");
    const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _asgard; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync("bash", ["-c", program], { encoding: "utf8" }).trim().split("\n");
  };

  it("completes commands, subcommands and options at each level", () => {
    expect(complete("asgard jo")).toEqual(["jobs"]);
    expect(complete("asgard jobs ")).toEqual(expect.arrayContaining(["ls", "show", "logs", "cancel", "script"]));
    expect(complete("asgard models alias ")).toEqual(expect.arrayContaining(["set", "rm"]));
    expect(complete("asgard train model.py --experiment e --fo")).toEqual(["--follow"]);
    expect(complete("asgard --out")).toEqual(["--output"]);
  });

  it("zsh gets the same script through bashcompinit; other shells are a usage error", () => {
    expect(completionScript(createProgram(ctx(), "0.0.0"), "zsh")).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
    expect(() => completionScript(createProgram(ctx(), "0.0.0"), "fish")).toThrow(UsageError);
  });
});

describe("piped output", () => {
  it("a reader that has gone (| head) ends the CLI quietly, without an EPIPE stack", async () => {
    const bin = new URL("../bin/asgard.mjs", import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    // Closed before the CLI has even started: its first write meets a pipe with no reader.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});
