import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { DbBackupError } from "../errors.js";

/**
 * Settings name people by user ID (U…/W…) and/or user group ID (S…). Groups are expanded with
 * usergroups.users.list. For display and for who may ask, a list at most a minute old serves; a
 * decision (an Approve click) asks Slack afresh, so someone removed from the group can't approve a
 * minute later. A workspace without user groups still works with user IDs.
 */
export class SlackDirectory {
  private cache: { at: number; members: Set<string> } | undefined;
  private refreshing: Promise<Set<string>> | undefined;

  constructor(
    private readonly client: App["client"],
    private readonly ids: readonly string[],
    private readonly logger: Logger,
    private readonly cacheMs = 60_000,
  ) {}

  get configured(): boolean {
    return this.ids.length > 0;
  }

  /**
   * Never makes a slash command wait on Slack once warmed: a stale list is answered at once and
   * refreshed behind it (the bot warms it at start).
   */
  async members(now = Date.now()): Promise<Set<string>> {
    if (this.cache) {
      if (now - this.cache.at >= this.cacheMs) void this.refresh(now).catch(() => {});
      return this.cache.members;
    }
    return this.refresh(now);
  }

  private refresh(now: number): Promise<Set<string>> {
    this.refreshing ??= this.load(now).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Whether `userId` is one of them now. Named by user ID: yes at once. Otherwise the groups are read
   * from Slack now; when one can't be read the answer is an error saying so, never a stale yes.
   */
  async includesNow(userId: string, now = Date.now()): Promise<boolean> {
    if (this.ids.includes(userId)) return true;
    if (!this.ids.some((id) => id.startsWith("S"))) return false;
    return (await this.load(now, true)).has(userId);
  }

  private async load(now: number, strict = false): Promise<Set<string>> {
    const members = new Set(this.ids.filter((id) => !id.startsWith("S")));
    for (const group of this.ids.filter((id) => id.startsWith("S"))) {
      try {
        const r = await this.client.usergroups.users.list({ usergroup: group });
        for (const user of r.users ?? []) members.add(user);
      } catch (error) {
        const code = (error as { data?: { error?: string } }).data?.error ?? String(error);
        if (strict)
          throw new DbBackupError(
            "approvers_unknown",
            `Slack didn't say who is in the approvers' user group ${group} (${code}), so your click can't be checked.`,
            "Try again in a moment; if it persists, check the bot's usergroups:read scope.",
          );
        // For display, one unreadable group must not lock everyone out; the user IDs still count.
        this.logger.warn({ group, code }, "could not expand a Slack user group");
      }
    }
    this.cache = { at: now, members };
    return members;
  }
}
