import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

/** CLI tests run the real `bin/dbbackup.js`, which loads dist/: build it afresh once per test run. */
export default async function setup(): Promise<void> {
  // Several people (or agents) running engine suites side by side keep one dist/ instead of racing on it.
  if (process.env.DBBACKUP_TEST_KEEP_DIST === "1") return;
  rmSync("dist", { recursive: true, force: true });
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
