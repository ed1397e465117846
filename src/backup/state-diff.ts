import { diffExtensions, type ExtensionChanges, type ExtensionLike } from "./extension-diff.js";
import { diffRows, type RowChanges, type TableRows } from "./row-changes.js";

/** What a post-upgrade sanity check compares: one side is a backup, the other a backup or live. */
export interface DatabaseState {
  label: string;
  version: string;
  extensions: ExtensionLike[];
  views: { schema: string; name: string; reloptions: string[] }[];
  /** Absent for backups taken before it was recorded. */
  policiesByTable: Record<string, number> | undefined;
  /** Rows per table (absent when not read). */
  tables?: TableRows[];
}

export interface ViewChange {
  view: string;
  before: string;
  after: string;
  /** security_invoker=true before, not after: API roles now read through the owner's rights. */
  lostSecurityInvoker: boolean;
}

export interface StateDiff {
  from: string;
  to: string;
  version: { before: string; after: string; changed: boolean };
  extensions: ExtensionChanges;
  views: { added: string[]; removed: string[]; changed: ViewChange[] };
  policies: { table: string; before: number; after: number }[] | undefined;
  /** Row counts per table, when both sides have them. */
  rows?: RowChanges;
}

const INVOKER = /^security_invoker=(true|on|yes|1)$/i;
const invoker = (options: string[]) => options.some((o) => INVOKER.test(o));
const key = (v: { schema: string; name: string }) => `${v.schema}.${v.name}`;
const show = (options: string[]) => `{${options.join(",")}}`;

/** Pure: the runbook's post-upgrade sanity as data. */
export function diffStates(a: DatabaseState, b: DatabaseState, dropPercent = 10): StateDiff {
  const before = new Map(a.views.map((v) => [key(v), v.reloptions]));
  const after = new Map(b.views.map((v) => [key(v), v.reloptions]));
  const changed: ViewChange[] = [];
  for (const [view, opts] of after) {
    const old = before.get(view);
    if (old === undefined || show(old) === show(opts)) continue;
    changed.push({
      view,
      before: show(old),
      after: show(opts),
      lostSecurityInvoker: invoker(old) && !invoker(opts),
    });
  }
  let policies: StateDiff["policies"];
  if (a.policiesByTable && b.policiesByTable) {
    const tables = new Set([...Object.keys(a.policiesByTable), ...Object.keys(b.policiesByTable)]);
    policies = [...tables]
      .sort()
      .map((table) => ({
        table,
        before: a.policiesByTable?.[table] ?? 0,
        after: b.policiesByTable?.[table] ?? 0,
      }))
      .filter((p) => p.before !== p.after);
  }
  return {
    from: a.label,
    to: b.label,
    version: { before: a.version, after: b.version, changed: a.version !== b.version },
    extensions: diffExtensions(a.extensions, b.extensions),
    views: {
      added: [...after.keys()].filter((v) => !before.has(v)).sort(),
      removed: [...before.keys()].filter((v) => !after.has(v)).sort(),
      changed: changed.sort((x, y) => x.view.localeCompare(y.view)),
    },
    policies,
    ...(a.tables && b.tables ? { rows: diffRows(a.tables, b.tables, dropPercent) } : {}),
  };
}
