import { DbBackupError } from "../errors.js";
import { quoted } from "../format.js";

/**
 * `/dbbackup upgrade prod 2026-12-01 02:00 UTC [2h] [note]`, read without a clock or a disk.
 * The time zone is required: at 2 a.m. nobody should have to guess whose 02:00 it was.
 */

export type UpgradeRequest =
  | { action: "declare"; env: string; startsAt: string; lengthMs: number | null; note: string | null }
  | { action: "list" }
  | { action: "cancel"; id: string };

export const WINDOW_ID = /^w[0-9a-f]{6}$/;

const USAGE = "upgrade prod 2026-12-01 02:00 UTC [2h] [note]";

function usage(message: string, hint = `Declare a window like this: ${USAGE}`): DbBackupError {
  return new DbBackupError("usage", message, hint);
}

const shown = (value: string) => quoted(value, 40);

/** Minutes east of UTC that `zone` is at `instant`, from Intl (IANA names, DST included). */
function zoneOffsetMinutes(zone: string, instant: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A wall-clock date and time in a zone (UTC, Z, +02:00, Europe/Berlin) → the instant. */
export function zonedInstant(date: string, time: string, zone: string): Date {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!d) throw usage(`${shown(date)} is not a date; write it as YYYY-MM-DD, like 2026-12-01.`);
  const t = /^(\d{1,2}):(\d{2})$/.exec(time);
  if (!t) throw usage(`${shown(time)} is not a time; write it as HH:MM (24-hour), like 02:00.`);
  const [year, month, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const [hour, minute] = [Number(t[1]), Number(t[2])];
  if (hour > 23 || minute > 59) throw usage(`${time} is not a time of day.`);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const check = new Date(wall);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    throw usage(`${date} is not a day of the calendar.`);

  const fixed = /^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$/.exec(zone);
  if (zone === "UTC" || zone === "Z" || zone === "GMT") return new Date(wall);
  if (fixed) {
    const sign = fixed[1] === "-" ? -1 : 1;
    const offset = sign * (Number(fixed[2]) * 60 + Number(fixed[3] ?? "0"));
    if (Math.abs(offset) > 14 * 60)
      throw usage(`${zone} is not a UTC offset (they run from -12:00 to +14:00).`);
    return new Date(wall - offset * 60_000);
  }
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(zone) || !isTimeZone(zone)) {
    throw usage(
      `${shown(zone)} is not a time zone I know.`,
      `Use UTC, an offset like +02:00, or a zone name like Europe/Berlin: ${USAGE}`,
    );
  }
  // The offset at the guess, then at the corrected instant: right on both sides of a DST change.
  let instant = wall - zoneOffsetMinutes(zone, wall) * 60_000;
  instant = wall - zoneOffsetMinutes(zone, instant) * 60_000;
  if (instant + zoneOffsetMinutes(zone, instant) * 60_000 !== wall) {
    throw usage(
      `${date} ${time} doesn't exist in ${zone}: the clocks skip that hour.`,
      "Pick a time outside the daylight-saving change.",
    );
  }
  return new Date(instant);
}

/** `2h`, `90m`, `1h30m` → ms; anything else is not a length. */
export function parseLength(word: string): number | undefined {
  const m = /^(?:(\d{1,2})h)?(?:(\d{1,3})m)?$/.exec(word);
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  const ms = (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60_000;
  return ms > 0 ? ms : undefined;
}

/** The words after `upgrade`. `envs` are the configured environments. */
export function parseUpgradeWords(words: readonly string[], envs: ReadonlySet<string>): UpgradeRequest {
  const [first, ...rest] = words;
  if (first === undefined) throw usage("upgrade needs an environment and a start time.");
  if (first === "list") {
    if (rest.length > 0) throw usage("upgrade list takes nothing after it.", "Try: /dbbackup upgrade list");
    return { action: "list" };
  }
  if (first === "cancel") {
    const [id, ...extra] = rest;
    if (!id || extra.length > 0 || !WINDOW_ID.test(id))
      throw usage(
        `upgrade cancel takes one window id${id ? `, and ${shown(id)} is not one` : ""}.`,
        "The ids are in /dbbackup upgrade list (like w3f9a10).",
      );
    return { action: "cancel", id };
  }
  if (!envs.has(first)) {
    throw usage(
      `Unknown environment ${shown(first)}; known: ${[...envs].sort().join(", ")}.`,
      `Declare a window for one of them: ${USAGE}`,
    );
  }
  const [date, time, zone, ...tail] = rest;
  if (!date || !time) throw usage("upgrade needs a date and a time.");
  if (!zone) throw usage(`Say which time zone ${date} ${time} is in.`, `For example: ${USAGE}`);
  const startsAt = zonedInstant(date, time, zone);
  let lengthMs: number | null = null;
  let noteWords = tail;
  const maybeLength = tail[0] === undefined ? undefined : parseLength(tail[0]);
  if (maybeLength !== undefined) {
    if (maybeLength > 24 * 3_600_000) throw usage("A window can be at most 24h long.");
    lengthMs = maybeLength;
    noteWords = tail.slice(1);
  }
  const note = noteWords.join(" ").trim();
  if (note.length > 200) throw usage("The note is too long (at most 200 characters).");
  return { action: "declare", env: first, startsAt: startsAt.toISOString(), lengthMs, note: note || null };
}
