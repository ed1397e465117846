import { execFileSync } from "node:child_process";

/** CLI tests run the real `bin/dbbackup.js`, which loads dist/: build it once per test run. */
export default async function setup(): Promise<void> {
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
