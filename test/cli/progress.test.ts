import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BackupEvent } from "../../src/backup/events.js";
import { ProgressReporter } from "../../src/cli/progress.js";

class FakeSink {
  writes: string[] = [];
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  get text(): string {
    return this.writes.join("");
  }
}

const T0 = new Date("2026-11-23T20:30:00.000Z");

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

function at(ms: number): void {
  vi.setSystemTime(new Date(T0.getTime() + ms));
}

const started: Extract<BackupEvent, { type: "started" }> = {
  type: "started",
  id: "20261123_203000_prod_pre-upgrade",
  env: "prod",
  label: "pre-upgrade",
  target: "postgresql://postgres:****@db.x.supabase.co:5432/postgres?sslmode=require",
  source: "DATABASE_URL_PROD",
};

/** A run as the pipeline reports it: connect, dump with table progress, stages. */
function run(reporter: ProgressReporter): void {
  reporter.handle(started);
  reporter.handle({ type: "step", step: "connect", status: "started" });
  at(100);
  reporter.handle({ type: "step", step: "connect", status: "finished", ms: 100 });
  reporter.handle({ type: "step", step: "dump", status: "started" });
  reporter.handle({ type: "tables", done: 1, total: 10, table: "public.tenants" });
  at(1_000);
  reporter.handle({ type: "tables", done: 5, total: 10, table: "public.documents" });
  reporter.handle({ type: "bytes", bytes: 3 * 1024 * 1024, elapsedMs: 1_000 });
  at(7_000);
  reporter.handle({ type: "tables", done: 10, total: 10, table: "storage.objects" });
  reporter.handle({ type: "step", step: "dump", status: "finished", ms: 6_900 });
  reporter.handle({ type: "stage", stage: "dumped", ok: true, ms: 120 });
  reporter.handle({ type: "stage", stage: "readable", ok: false, ms: 850 });
  reporter.finish();
}

describe("ProgressReporter on a pipe or log (not a TTY)", () => {
  it("prints whole plain lines only: no carriage returns, no escape codes", () => {
    const sink = new FakeSink();
    run(new ProgressReporter(sink, false));
    expect(sink.text).not.toContain("\r");
    expect(sink.text).not.toContain("\u001b");
    for (const w of sink.writes) expect(w.endsWith("\n")).toBe(true);
  });

  it("says what is happening, step by step", () => {
    const sink = new FakeSink();
    run(new ProgressReporter(sink, false));
    expect(sink.text.split("\n")).toEqual([
      `backing up prod (pre-upgrade) from ${started.target} → 20261123_203000_prod_pre-upgrade`,
      "connect…",
      "connect done in 100 ms",
      "dump…",
      // Nothing in the first 5 s (it could only say "0 B written"); then the dump's final figures.
      "dump: 10/10 tables' data, 3.0 MB written, 7.0 s",
      "dump done in 6.9 s: 10/10 tables' data, 3.0 MB written",
      "stage dumped: passed (120 ms)",
      "stage readable: FAILED (850 ms)",
      "",
    ]);
  });

  it("prints at most one progress line every 5 seconds", () => {
    const sink = new FakeSink();
    const reporter = new ProgressReporter(sink, false);
    for (let i = 1; i <= 50; i++) {
      at(i * 200); // 10 s in all
      reporter.handle({ type: "tables", done: i, total: 50, table: `t${i}` });
    }
    const progress = sink.writes.filter((w) => w.startsWith("dump:"));
    expect(progress).toHaveLength(2);
    expect(progress[0]).toBe("dump: 25/50 tables' data, 0 B written, 5.0 s\n");
    expect(progress[1]).toBe("dump: 50/50 tables' data, 0 B written, 10.0 s\n");
  });

  it("prints warnings and cleaned folders", () => {
    const sink = new FakeSink();
    const reporter = new ProgressReporter(sink, false);
    reporter.handle({ type: "warning", message: "Using the legacy DATABASE_URL for staging" });
    reporter.handle({ type: "cleaned", paths: ["/b/.inprogress-1", "/b/.inprogress-2"] });
    expect(sink.text).toBe(
      "! Using the legacy DATABASE_URL for staging\nremoved 2 abandoned in-progress folder(s): /b/.inprogress-1, /b/.inprogress-2\n",
    );
  });
});

describe("ProgressReporter on a terminal (TTY)", () => {
  it("redraws one bar in place with tables done of total", () => {
    const sink = new FakeSink();
    const reporter = new ProgressReporter(sink, true);
    reporter.handle({ type: "tables", done: 5, total: 10, table: "public.documents" });
    at(2_500);
    reporter.handle({ type: "bytes", bytes: 1536 * 1024, elapsedMs: 2_500 });
    expect(sink.writes).toEqual([
      `\r\u001b[2Kdump [${"#".repeat(12)}${"-".repeat(12)}] 5/10 tables' data, 0 B written, 0 ms`,
      `\r\u001b[2Kdump [${"#".repeat(12)}${"-".repeat(12)}] 5/10 tables' data, 1.5 MB written, 2.5 s`,
    ]);
  });

  it("shows every table update (no throttling) and fills the bar at the end", () => {
    const sink = new FakeSink();
    const reporter = new ProgressReporter(sink, true);
    for (let done = 1; done <= 4; done++)
      reporter.handle({ type: "tables", done, total: 4, table: `t${done}` });
    expect(sink.writes).toHaveLength(4);
    expect(sink.writes.at(-1)).toContain(`[${"#".repeat(24)}] 4/4 tables`);
  });

  it("counts tables without a bar while the total is unknown", () => {
    const sink = new FakeSink();
    new ProgressReporter(sink, true).handle({ type: "tables", done: 3, total: undefined, table: "t" });
    expect(sink.writes).toEqual(["\r\u001b[2Kdump 3 tables' data, 0 B written, 0 ms"]);
  });

  it("clears the bar before printing a line, so lines never run into it", () => {
    const sink = new FakeSink();
    run(new ProgressReporter(sink, true));
    const barIndex = sink.writes.findIndex((w) => w.includes("10/10 tables"));
    expect(barIndex).toBeGreaterThan(0);
    expect(sink.writes[barIndex + 1]).toBe("\r\u001b[2K");
    expect(sink.writes[barIndex + 2]).toBe("dump done in 6.9 s: 10/10 tables' data, 3.0 MB written\n");
    // No "connect…"/"dump…" lines on a terminal: the bar says it.
    expect(sink.text).not.toContain("dump…");
    expect(sink.text).toContain("stage readable: FAILED (850 ms)\n");
  });

  it("never writes a bar wider than the terminal", () => {
    const sink = new FakeSink();
    new ProgressReporter(sink, true, 40).handle({ type: "tables", done: 1, total: 3, table: "t" });
    const shown = (sink.writes[0] ?? "").replace("\r\u001b[2K", "");
    expect(shown.length).toBeLessThanOrEqual(39);
    expect(shown.startsWith("dump [")).toBe(true);
  });

  it("finish() clears a bar that is showing, and does nothing otherwise", () => {
    const sink = new FakeSink();
    const reporter = new ProgressReporter(sink, true);
    reporter.finish();
    expect(sink.writes).toEqual([]);
    reporter.handle({ type: "tables", done: 1, total: 2, table: "t" });
    reporter.finish();
    reporter.finish();
    expect(sink.writes.at(-1)).toBe("\r\u001b[2K");
    expect(sink.writes).toHaveLength(2);
  });
});
