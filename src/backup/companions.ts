import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { CatalogSnapshot, ExtensionInfo, ViewInfo } from "./catalog-snapshot.js";

/** The runbook's small text files, formatted for its own checks: head -1, column -t, grep. */

export const VERSION_FILE = "version.txt";
export const EXTENSIONS_FILE = "extensions.tsv";
export const VIEWS_FILE = "views_reloptions.tsv";

/** COPY-style escapes keep one record a line and one field a column, whatever a name contains. */
function field(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

/** Postgres's own array text form, `{}` when empty so no column is ever blank (column -t drops blanks). */
function pgArray(values: string[]): string {
  return `{${values.map((v) => (/[,{}"\\\s]/.test(v) ? `"${v.replace(/(["\\])/g, "\\$1")}"` : v)).join(",")}}`;
}

export function versionText(version: string, serverVersionNum: number, pgDumpVersion: string): string {
  return `${version}\nserver_version_num\t${serverVersionNum}\npg_dump\t${pgDumpVersion}\n`;
}

export function extensionsTsv(extensions: ExtensionInfo[]): string {
  const lines = ["name\tversion\tschema"];
  for (const e of extensions) lines.push([e.name, e.version, e.schema].map(field).join("\t"));
  return `${lines.join("\n")}\n`;
}

export function viewsTsv(views: ViewInfo[]): string {
  const lines = ["schema\tview\treloptions"];
  for (const v of views)
    lines.push([field(v.schema), field(v.name), field(pgArray(v.reloptions))].join("\t"));
  return `${lines.join("\n")}\n`;
}

export async function writeCompanions(
  dir: string,
  catalog: CatalogSnapshot,
  pgDumpVersion: string,
): Promise<string[]> {
  const files: [string, string][] = [
    [VERSION_FILE, versionText(catalog.version, catalog.serverVersionNum, pgDumpVersion)],
    [EXTENSIONS_FILE, extensionsTsv(catalog.extensions)],
    [VIEWS_FILE, viewsTsv(catalog.views)],
  ];
  await Promise.all(files.map(([name, text]) => writeFile(path.join(dir, name), text)));
  return files.map(([name]) => name);
}
