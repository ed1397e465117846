/** Kept apart from the jobs themselves so the CLI's parser can name them without loading them. */

/** The scheduled guardrails' jobs, in the order `jobs list` shows them. */
export const JOB_NAMES = ["windows", "versions", "drills", "retention", "supabase"] as const;
export type JobName = (typeof JOB_NAMES)[number];

export const DEFAULT_SCHEDULES: Record<JobName, string> = {
  windows: "*/10 * * * *",
  versions: "17 * * * *",
  drills: "0 9 * * *",
  retention: "30 3 * * *",
  supabase: "*/30 * * * *",
};

export const JOB_PURPOSE: Record<JobName, string> = {
  windows: "pre-upgrade nags for declared windows, the covered message, the diff after a window",
  versions: "server version changed without a pre-upgrade backup; dead-man alert",
  drills: "quarterly restore-drill reminder, and when an env had no drill in the allowed days",
  retention: "prune by the retention rules; posts what it deleted",
  supabase: "Supabase Management API: upgrade available or running without a recent pre-upgrade backup",
};

export function isJobName(name: string): name is JobName {
  return (JOB_NAMES as readonly string[]).includes(name);
}
