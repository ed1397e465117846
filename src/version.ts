import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Our own package version, found the same way from src/ (tests) and dist/src/ (built). */
export const TOOL_VERSION: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
      if (typeof pkg === "object" && pkg && "name" in pkg && pkg.name === "dbbackup" && "version" in pkg) {
        return String(pkg.version);
      }
    } catch {
      // keep climbing
    }
    dir = path.dirname(dir);
  }
  return "0.0.0";
})();
