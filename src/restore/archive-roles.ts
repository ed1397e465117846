/** Roles a dump refers to, read from its schema.sql: pure, so it is tested on text alone. */

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const LIST = String.raw`(${IDENT}(?:\s*,\s*${IDENT})*)`;
const PATTERNS = [
  new RegExp(String.raw`\bOWNER TO (${IDENT})`, "g"),
  new RegExp(String.raw`\bAUTHORIZATION (${IDENT})`, "g"),
  new RegExp(String.raw`\bFOR ROLE ${LIST}`, "g"),
  new RegExp(
    String.raw`^(?:GRANT|CREATE POLICY|ALTER POLICY|ALTER DEFAULT PRIVILEGES)\b[^;]*?\bTO ${LIST}`,
    "gm",
  ),
  new RegExp(String.raw`^REVOKE\b[^;]*?\bFROM ${LIST}`, "gm"),
];

/** Roles every cluster has, or words that only look like roles. */
const NOT_ROLES = new Set(["public", "current_user", "session_user", "current_role", "postgres"]);

/** Supabase's own roles: created even if a dump happens not to name them (functions may SET ROLE). */
export const SUPABASE_ROLES = [
  "anon",
  "authenticated",
  "service_role",
  "supabase_admin",
  "authenticator",
  "supabase_auth_admin",
  "supabase_storage_admin",
  "dashboard_user",
] as const;

function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}

export function rolesInSchema(schemaSql: string): string[] {
  const roles = new Set<string>();
  for (const pattern of PATTERNS) {
    for (const match of schemaSql.matchAll(pattern)) {
      const list = match[1] ?? "";
      for (const ident of list.match(new RegExp(IDENT, "g")) ?? []) {
        const role = unquote(ident);
        if (!NOT_ROLES.has(role.toLowerCase()) && !role.startsWith("pg_")) roles.add(role);
      }
    }
  }
  return [...roles].sort();
}
