import { formatBytes, table } from "../../../src/format.js";
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
  if (word === "delete" || word === "deleted" || word === "spared") return s.warn(word);
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
  if (r.dryRun && gone > 0)
    lines.push("", `Run \`dbbackup prune${r.env ? ` ${r.env}` : ""}\` to delete them.`);
  return `${lines.join("\n")}\n`;
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
