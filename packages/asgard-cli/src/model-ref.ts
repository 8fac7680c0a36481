import { UsageError } from "./errors.js";

/** `MODEL`, `MODEL@alias` or `MODEL:version` as the API's model_name / model_version. */
export interface ModelRef {
  model_name: string;
  /** `"3"`, `"@champion"`, or null for the latest READY version. */
  model_version: string | null;
}

export function parseModelRef(text: string): ModelRef {
  const at = text.lastIndexOf("@");
  if (at >= 0) return checked({ model_name: text.slice(0, at), model_version: text.slice(at) }, text);
  const version = /^(.+):(\d+|latest)$/.exec(text);
  if (version) {
    const [, name = "", number = "latest"] = version;
    return checked({ model_name: name, model_version: number === "latest" ? null : number }, text);
  }
  return checked({ model_name: text, model_version: null }, text);
}

function checked(ref: ModelRef, text: string): ModelRef {
  if (ref.model_name === "" || ref.model_version === "@") {
    throw new UsageError(`"${text}" is not a model: write NAME, NAME@alias or NAME:version (e.g. churn@champion, churn:3)`);
  }
  return ref;
}
