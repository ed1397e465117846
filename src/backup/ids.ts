import { DbBackupError } from "../errors.js";

export const LABEL = /^[a-z0-9][a-z0-9._-]{0,39}$/;
const ID = /^(\d{8}_\d{6})_([a-z][a-z0-9-]{0,30})(?:_([a-z0-9][a-z0-9._-]{0,39}))?$/;

/** Refuses anything that could escape a folder name or confuse a shell: no slashes, spaces, dots-first. */
export function checkLabel(label: string): string {
  if (LABEL.test(label) && !label.includes("..")) return label;
  const shown = label.length > 60 ? `${label.slice(0, 57)}...` : label;
  throw new DbBackupError(
    "bad_label",
    `Invalid label ${JSON.stringify(shown)}: labels are 1–40 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.`,
    'Use something like "pre-upgrade", "migration-42" or "tenant.split".',
  );
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `20261123_203000` in UTC. */
export function timestampPart(date: Date): string {
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

export function backupId(date: Date, env: string, label?: string): string {
  return `${timestampPart(date)}_${env}${label ? `_${label}` : ""}`;
}

export interface ParsedId {
  timestamp: string;
  env: string;
  label?: string;
}

export function parseBackupId(id: string): ParsedId | undefined {
  const m = ID.exec(id);
  if (!m?.[1] || !m[2]) return undefined;
  return m[3] ? { timestamp: m[1], env: m[2], label: m[3] } : { timestamp: m[1], env: m[2] };
}

export function isBackupId(name: string): boolean {
  return parseBackupId(name) !== undefined;
}
