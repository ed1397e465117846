import type { App } from "@slack/bolt";
import { z } from "zod/v3";

/** What a guardrail button needs to know before it starts work for the clicker. */
export interface GuardrailClickDeps {
  /** Is this a configured environment? */
  isEnv(env: string): boolean;
  /** Where a refusal is told when the click came from no channel. */
  channel: string;
  /** Why this person may not ask, or undefined. */
  whoMayAsk(userId: string, channelId: string | undefined): Promise<string | undefined>;
}

export interface GuardrailClick {
  clicker: string;
  channel: string;
  env: string;
  label?: "pre-upgrade" | null | undefined;
}

/**
 * A click on a reminder's button, checked: the value carries only an env (and the pre-upgrade label),
 * who clicked comes from the signed payload. Undefined when the value is bad or the clicker was told no.
 */
export async function readGuardrailClick(
  client: App["client"],
  deps: GuardrailClickDeps,
  body: { user: { id: string }; channel?: { id: string } },
  value: unknown,
): Promise<GuardrailClick | undefined> {
  const clicker = body.user.id;
  const channel = body.channel?.id ?? deps.channel;
  const parsed = buttonValue(deps).safeParse(parseJson(value));
  if (!parsed.success) return undefined;
  const refusal = await deps.whoMayAsk(clicker, undefined);
  if (refusal) {
    await client.chat.postEphemeral({ channel, user: clicker, text: refusal });
    return undefined;
  }
  return { clicker, channel, ...parsed.data };
}

const buttonValue = (deps: GuardrailClickDeps) =>
  z.object({
    env: z.string().refine((e) => deps.isEnv(e), "not a configured environment"),
    label: z.literal("pre-upgrade").nullable().optional(),
  });

function parseJson(value: unknown): unknown {
  if (typeof value !== "string" || value.length > 200) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined; // not JSON: refused like any other bad value
  }
}

/** The button's value from an action payload (buttons have one; other elements don't). */
export const actionValue = (action: unknown): unknown =>
  typeof action === "object" && action !== null && "value" in action ? action.value : undefined;
