import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderEventsDoc } from "./events-doc.js";

await writeFile(join(import.meta.dirname, "..", "..", "..", "docs", "events.md"), renderEventsDoc());
