import type { App } from "@slack/bolt";
import { DRILL_NOW_ACTION } from "../../../../commands/views/slack/guardrail-views.js";
import { actionValue, type GuardrailClickDeps, readGuardrailClick } from "./guardrail-click.js";

export interface DrillNowDeps extends GuardrailClickDeps {
  /** Starts a restore test of the env's latest backup in the background. */
  startRestoreTest(userId: string, env: string): void;
}

/** "Run the drill now" on the quarterly restore-drill reminder. */
export function register(app: App, deps: DrillNowDeps): void {
  app.action(DRILL_NOW_ACTION, async ({ ack, body, action }) => {
    await ack();
    const click = await readGuardrailClick(app.client, deps, body, actionValue(action));
    if (click) deps.startRestoreTest(click.clicker, click.env);
  });
}
