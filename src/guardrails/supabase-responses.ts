import { z } from "zod/v3";

/**
 * The Management API's answers about upgrades, as zod schemas, and what they mean: the highest
 * target offered, whether an upgrade runs. Pure.
 */

/** The API reports app versions as "supabase-postgres-15.6.1.143"; people know them as "15.6.1.143". */
const APP_VERSION_PREFIX = /^supabase-postgres-/;
/** DatabaseUpgradeStatus.Upgrading in Supabase's shared types (0 upgrading, 1 upgraded, 2 failed). */
const UPGRADE_STATUS_UPGRADING = 0;

// z.object drops unknown keys, so fields the API adds later don't break parsing; everything we don't
// strictly need is optional/nullable because the beta endpoints have changed shape before.
const versionLike = z.union([z.string(), z.number()]);

export const projectSchema = z.object({
  status: z.string(),
  database: z.object({ version: z.string().nullish() }).nullish(),
});

export const eligibilitySchema = z.object({
  eligible: z.boolean(),
  current_app_version: z.string().nullish(),
  target_upgrade_versions: z
    .array(
      z.object({
        postgres_version: versionLike.nullish(),
        release_channel: z.string().nullish(),
        app_version: z.string().nullish(),
      }),
    )
    .nullish(),
});

export const upgradeStatusSchema = z.object({
  databaseUpgradeStatus: z
    .object({
      status: versionLike,
      progress: z.string().nullish(),
      target_version: versionLike.nullish(),
      initiated_at: z.string().nullish(),
      error: z.string().nullish(),
    })
    .nullish(),
});

type Eligibility = z.infer<typeof eligibilitySchema>;
type UpgradeStatus = z.infer<typeof upgradeStatusSchema>;

export function highestTarget(eligibility: Eligibility | null): string | null {
  let best: { key: number[]; label: string } | null = null;
  for (const target of eligibility?.target_upgrade_versions ?? []) {
    const app = nonEmpty(appVersion(target.app_version));
    const major = target.postgres_version == null ? null : nonEmpty(String(target.postgres_version));
    const label = app ?? major;
    if (label === null) continue;
    // Compare the major first (the app version may be missing), then the app version's parts.
    const key = [...numbers(major ?? ""), ...numbers(app ?? "")];
    if (best === null || compareNumbers(key, best.key) > 0) best = { key, label };
  }
  return best?.label ?? null;
}

export function statusSaysRunning(status: UpgradeStatus | null): boolean {
  const value = status?.databaseUpgradeStatus?.status;
  if (value === undefined) return false;
  if (typeof value === "number") return value === UPGRADE_STATUS_UPGRADING;
  return value.trim() === String(UPGRADE_STATUS_UPGRADING) || value.trim().toLowerCase() === "upgrading";
}

export function appVersion(value: string | null | undefined): string | undefined {
  return value?.trim().replace(APP_VERSION_PREFIX, "");
}

export function nonEmpty(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

function numbers(text: string): number[] {
  return (text.match(/\d+/g) ?? []).map(Number);
}

function compareNumbers(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const diff = (a[i] ?? -1) - (b[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}
