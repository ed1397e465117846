import { validate } from "node-cron";
import { z } from "zod/v3";
import { settingProblems, withoutEmpty } from "../config.js";
import { DbBackupError } from "../errors.js";
import { DEFAULT_SCHEDULES, JOB_NAMES, type JobName } from "./job-names.js";
import { DEFAULT_SUPABASE_API_URL } from "./supabase-api.js";
import { isTimeZone } from "./window-time.js";

export interface GuardrailSettings {
  /** The zone cron schedules and quarters are read in. */
  timeZone: string;
  schedules: Record<JobName, string>;
  /** Hours before a window's start at which the nags begin and grow more urgent (then "start"). */
  nagHours: number[];
  /** A window's length when its declaration gives none: after it, the diff is posted. */
  windowLengthMs: number;
  /** Alert when an env has no stage-2 backup in this many days (0: off). */
  deadManDays: number;
  /** Remind when an env had no restore drill in this many days. */
  drillMaxAgeDays: number;
  /** A pre-upgrade backup this recent counts for a Supabase upgrade. */
  supabaseRecentMs: number;
  /** How long after a window's start a pre-upgrade backup still counts as taken before it (default 0). */
  coverGraceMs: number;
  supabase: {
    token: string;
    apiUrl: string;
    /** Project refs by env name. */
    refs: Map<string, string>;
  } | null;
}

const HOURS = /^\d{1,3}(\s*,\s*\d{1,3})*$/;
const LENGTH = /^(\d{1,2})(h|m)$/;

function lengthMs(value: string): number {
  const m = LENGTH.exec(value);
  return Number(m?.[1]) * (m?.[2] === "h" ? 3_600_000 : 60_000);
}

const schema = z.object({
  DBBACKUP_TIMEZONE: z
    .string()
    .default("UTC")
    .refine(isTimeZone, "must be a time zone name like UTC or Europe/Berlin"),
  DBBACKUP_NAG_HOURS: z
    .string()
    .default("48,24,2")
    .refine((v) => HOURS.test(v), "must be hours before the start, comma-separated, like 48,24,2"),
  DBBACKUP_WINDOW_LENGTH: z.string().regex(LENGTH, "must be a length like 2h or 90m").default("2h"),
  DBBACKUP_DEAD_MAN_DAYS: z
    .string()
    .regex(/^\d{1,3}$/, "must be a number of days (0 turns it off)")
    .default("7"),
  DBBACKUP_DRILL_MAX_AGE_DAYS: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, "must be a number of days, like 90")
    .default("90"),
  DBBACKUP_SUPABASE_RECENT: z.string().regex(LENGTH, "must be a length like 24h").default("24h"),
  DBBACKUP_COVER_GRACE: z.string().regex(LENGTH, "must be a length like 0m or 15m").default("0m"),
  SUPABASE_ACCESS_TOKEN: z.string().min(10, "looks too short for a Supabase access token").optional(),
  SUPABASE_API_URL: z.string().url("must be a URL like https://api.supabase.com").optional(),
});

/** Every guardrail setting, every problem named at once (like the other loaders). */
export function loadGuardrailSettings(
  given: Record<string, string | undefined>,
  envNames: Iterable<string>,
): GuardrailSettings {
  const env = withoutEmpty(given);
  const problems: string[] = [];
  const parsed = schema.safeParse(env);
  if (!parsed.success) problems.push(...settingProblems(parsed.error).map((p) => `${p.key}: ${p.message}`));
  const schedules = { ...DEFAULT_SCHEDULES };
  for (const job of JOB_NAMES) {
    const key = `DBBACKUP_SCHEDULE_${job.toUpperCase()}`;
    const value = env[key]?.trim();
    if (!value) continue;
    if (value !== "off" && !validate(value))
      problems.push(`${key}: must be a cron expression like "${DEFAULT_SCHEDULES[job]}", or off`);
    else schedules[job] = value;
  }
  const known = new Set(envNames);
  const refs = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    const m = /^SUPABASE_PROJECT_REF_([A-Z][A-Z0-9_]*)$/.exec(key);
    if (!m?.[1] || !value?.trim()) continue;
    const name = m[1].toLowerCase().replace(/_/g, "-");
    if (!known.has(name))
      problems.push(`${key}: there is no environment "${name}" (no DATABASE_URL_${m[1]})`);
    else if (!/^[a-z]{20}$/.test(value.trim()))
      problems.push(`${key}: must be a project ref, 20 lower-case letters (Project Settings → General)`);
    else refs.set(name, value.trim());
  }
  if (refs.size > 0 && !env.SUPABASE_ACCESS_TOKEN)
    problems.push("SUPABASE_ACCESS_TOKEN: is required when a SUPABASE_PROJECT_REF_<ENV> is set");
  if (!parsed.success || problems.length > 0) {
    throw new DbBackupError(
      "config_invalid",
      `The guardrail settings have ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`,
      "Fix them in .env (README → Guardrails lists every setting), then start again.",
    );
  }
  const d = parsed.data;
  const nagHours = [...new Set(d.DBBACKUP_NAG_HOURS.split(",").map((h) => Number(h.trim())))]
    .filter((h) => h > 0)
    .sort((a, b) => b - a);
  return {
    timeZone: d.DBBACKUP_TIMEZONE,
    schedules,
    nagHours,
    windowLengthMs: lengthMs(d.DBBACKUP_WINDOW_LENGTH),
    deadManDays: Number(d.DBBACKUP_DEAD_MAN_DAYS),
    drillMaxAgeDays: Number(d.DBBACKUP_DRILL_MAX_AGE_DAYS),
    supabaseRecentMs: lengthMs(d.DBBACKUP_SUPABASE_RECENT),
    coverGraceMs: lengthMs(d.DBBACKUP_COVER_GRACE),
    supabase:
      d.SUPABASE_ACCESS_TOKEN && refs.size > 0
        ? {
            token: d.SUPABASE_ACCESS_TOKEN,
            apiUrl: d.SUPABASE_API_URL ?? DEFAULT_SUPABASE_API_URL,
            refs,
          }
        : null,
  };
}
