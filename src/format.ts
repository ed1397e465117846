/** Small pure formatters shared by the terminal views. */

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const whole = Math.round(ms / 1000);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** An ISO instant as people read it in a message: "2026-12-01 02:00 UTC". */
export function formatUtc(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

/** 90 minutes → "1h30m", 2 hours → "2h", 20 minutes → "20m" (at least 1m). */
export function formatHoursMinutes(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const h = Math.floor(minutes / 60);
  return h === 0 ? `${minutes}m` : minutes % 60 === 0 ? `${h}h` : `${h}h${minutes % 60}m`;
}

export function formatAge(now: Date, iso: string): string {
  const s = Math.max(0, Math.round((now.getTime() - new Date(iso).getTime()) / 1000));
  if (s < 90) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

export const STAGE_LABEL = { dumped: "1 dumped", readable: "2 readable", restored: "3 restored" } as const;

export function shortVersion(version: string): string {
  return /PostgreSQL [\d.]+/.exec(version)?.[0] ?? version.split(" on ")[0] ?? version;
}

export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** "+pg_graphql, −pgjwt, pgcrypto 1.2→1.3" or "none". */
export function formatExtensionChanges(c: {
  added: string[];
  removed: string[];
  changed: { name: string; from: string; to: string }[];
}): string {
  const parts = [
    ...c.added.map((n) => `+${n}`),
    ...c.removed.map((n) => `−${n}`),
    ...c.changed.map((x) => `${x.name} ${x.from}→${x.to}`),
  ];
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** A word as quoted back in an error: JSON-quoted, cut at `max` characters. */
export function quoted(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max - 3)}...` : value);
}
