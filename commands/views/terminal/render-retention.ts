import { formatBytes, table } from "../../../src/format.js";
import type { OffsitePruneItem, OffsitePruneResult } from "../../../src/offsite/prune-offsite.js";
import type { Pin } from "../../../src/state/annotations.js";
import type { KeepResult } from "../../keep.js";
import type { PruneItem, PruneResult } from "../../prune.js";
import type { UnkeepResult } from "../../unkeep.js";
import type { Style } from "./render.js";

/** Terminal views of prune, keep and unkeep: pure functions of their result objects. */

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function pinText(pin: Pin): string {
  return pin.reason ? `by ${pin.by}: "${pin.reason}"` : `by ${pin.by}`;
}

/** The word in the first column: what happens (dry run) or what happened to each backup. */
function verb(item: PruneItem, dryRun: boolean): string {
  if (dryRun) return item.action;
  switch (item.outcome) {
    case "deleted":
      return "deleted";
    case "spared":
      return "spared";
    case "failed":
      return "FAILED";
    default:
      return "kept";
  }
}

function paint(word: string, s: Style): string {
  if (word === "FAILED") return s.bad(word);
  if (["delete", "deleted", "spared", "retained", "refused"].includes(word)) return s.warn(word);
  return word;
}

export function renderPrune(r: PruneResult, s: Style): string {
  const lines: string[] = [];
  const total = r.backups.length;
  const gone = r.deleted.length;
  const freed = formatBytes(r.freedBytes);
  const what = (n: number) => `${n} ${r.env ? `${r.env} ` : ""}backup${n === 1 ? "" : "s"}`;
  if (total === 0) lines.push(`No ${r.env ? `${r.env} ` : ""}backups in ${r.root}: nothing to prune.`);
  else if (gone === 0 && r.dryRun)
    lines.push(`Dry run: nothing to delete; all ${what(total)} in ${r.root} stay.`);
  else if (gone === 0) lines.push(`Nothing deleted; all ${what(total)} in ${r.root} stay.`);
  else if (r.dryRun)
    lines.push(
      `Dry run: prune would delete ${gone} of ${what(total)} in ${r.root}, freeing ${freed}. Nothing was deleted.`,
    );
  else lines.push(`Deleted ${gone} of ${what(total)} in ${r.root}, freeing ${freed}.`);
  const failed = r.backups.filter((b) => b.outcome === "failed").length;
  if (failed > 0) lines.push(s.bad(`${plural(failed, "backup")} could not be deleted (FAILED below).`));
  if (total > 0) {
    lines.push(
      s.dim(
        `Rules: per env keep the last ${r.rules.keepOnDemand} on-demand and the last ${r.rules.keepPreUpgrade} pre-upgrade backups, plus any pinned,`,
      ),
      s.dim("       in use by a restore test, or newest verified; nothing of an env while its backup runs."),
    );
  }
  const running = new Map(r.running.map((run) => [run.env, run]));
  for (const env of [...new Set(r.backups.map((b) => b.env))]) {
    const rows = r.backups.filter((b) => b.env === env);
    const del = rows.filter((b) => (r.dryRun ? b.action === "delete" : b.outcome === "deleted")).length;
    const run = running.get(env);
    lines.push(
      "",
      s.bold(
        `${env}: ${r.dryRun ? "would delete" : "deleted"} ${del}, ${r.dryRun ? "keep" : "kept"} ${rows.length - del}`,
      ) +
        (run
          ? s.warn(` (a backup is running: ${run.id}, ${run.requestedBy}; nothing of ${env} is touched)`)
          : ""),
    );
    const words = rows.map((b) => verb(b, r.dryRun));
    const cells = rows.map((b, i) => {
      const why = b.rule === "running" ? "its env's backup is running" : b.reason;
      return [`  ${words[i]}`, b.id, b.note ? `${why}; ${b.note}` : why];
    });
    // Padded on the plain word, then coloured.
    table(cells).forEach((line, i) => {
      const word = words[i] ?? "";
      lines.push(line.replace(word, paint(word, s)));
    });
  }
  if (r.ignored.length > 0) {
    lines.push("", `Left alone (not dbbackup backups, never touched):`);
    for (const entry of r.ignored) lines.push(`  ${entry.name}: ${entry.reason}`);
  }
  if (r.stopped)
    lines.push("", s.warn("Stopped before the end (Ctrl-C): the backups marked kept were not reached."));
  if (r.offsite) lines.push("", ...renderOffsitePrune(r.offsite, r.dryRun, s));
  if (r.dryRun && (gone > 0 || (r.offsite?.deleted.length ?? 0) > 0))
    lines.push("", `Run \`dbbackup prune${r.env ? ` ${r.env}` : ""}\` to delete them.`);
  return `${lines.join("\n")}\n`;
}

/** The bucket's side: its own counts; a copy the bucket's lock or a no-delete policy kept is no failure. */
function renderOffsitePrune(o: OffsitePruneResult, dryRun: boolean, s: Style): string[] {
  if (o.error) return [s.bad(`Off-site (${o.url}): not pruned. ${o.error.message}`), `  ${o.error.hint}`];
  const all = plural(o.copies.length, "copy", "copies");
  const freed = formatBytes(o.freedBytes);
  const head =
    o.copies.length === 0
      ? "no copies: nothing to prune."
      : `${dryRun ? "would delete" : "deleted"} ${o.deleted.length} of ${all}, freeing ${freed}.`;
  const lines = [s.bold(`Off-site (${o.url}): ${head}`)];
  if (o.copies.length === 0) return lines;
  const left = o.copies.filter((c) => c.outcome === "retained" || c.outcome === "refused").length;
  if (left > 0)
    lines.push(`${plural(left, "copy", "copies")} the bucket would not let go: left in place, not an error.`);
  const failed = o.copies.filter((c) => c.outcome === "failed").length;
  if (failed > 0)
    lines.push(s.bad(`${plural(failed, "copy", "copies")} could not be deleted (FAILED below).`));
  lines.push(
    s.dim(
      `Rules: per env keep the last ${o.rules.keepOnDemand} on-demand and the last ${o.rules.keepPreUpgrade} pre-upgrade copies, plus any pinned and each env's newest proven one.`,
    ),
  );
  const word = (c: OffsitePruneItem) =>
    dryRun ? c.action : c.outcome === "failed" ? "FAILED" : (c.outcome ?? "kept");
  for (const env of [...new Set(o.copies.map((c) => c.env))]) {
    const rows = o.copies.filter((c) => c.env === env);
    const del = rows.filter((c) => (dryRun ? c.action === "delete" : c.outcome === "deleted")).length;
    lines.push(
      s.bold(
        `  ${env}: ${dryRun ? "would delete" : "deleted"} ${del}, ${dryRun ? "keep" : "kept"} ${rows.length - del}`,
      ),
    );
    const words = rows.map(word);
    const cells = rows.map((c, i) => [`    ${words[i]}`, c.id, c.note ? `${c.reason}; ${c.note}` : c.reason]);
    table(cells).forEach((line, i) => {
      const w = words[i] ?? "";
      lines.push(line.replace(w, paint(w, s)));
    });
  }
  if (o.stopped)
    lines.push(s.warn("Stopped before the end (Ctrl-C): the copies marked kept were not reached."));
  return lines;
}

export function renderKeep(r: KeepResult, s: Style): string {
  const lines = [
    `${s.ok("✔")} ${s.bold(`Pinned ${r.id}`)}${r.pin.reason ? `: "${r.pin.reason}"` : ""} (by ${r.pin.by})`,
    `  prune never deletes it; \`dbbackup unkeep ${r.id}\` undoes this.`,
  ];
  if (r.previous) lines.push(s.dim(`  It was pinned already, ${pinText(r.previous)}; replaced.`));
  return `${lines.join("\n")}\n`;
}

export function renderUnkeep(r: UnkeepResult, s: Style): string {
  if (!r.previous) return `${r.id} was not pinned; nothing changed.\n`;
  return `${s.ok("✔")} ${s.bold(`Unpinned ${r.id}`)} (was pinned ${pinText(r.previous)})\n  prune's usual rules apply to it again.\n`;
}
