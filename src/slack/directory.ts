import type { App } from "@slack/bolt";
import type { Logger } from "pino";

/**
 * Settings name people by user ID (U…/W…) and/or user group ID (S…). Groups are expanded with
 * usergroups.users.list and cached; a workspace without user groups still works with user IDs.
 */
export class SlackDirectory {
  private cache: { at: number; members: Set<string> } | undefined;
  private refreshing: Promise<Set<string>> | undefined;

  constructor(
    private readonly client: App["client"],
    private readonly ids: readonly string[],
    private readonly logger: Logger,
    private readonly cacheMs = 10 * 60_000,
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

  private async load(now: number): Promise<Set<string>> {
    const members = new Set(this.ids.filter((id) => !id.startsWith("S")));
    for (const group of this.ids.filter((id) => id.startsWith("S"))) {
      try {
        const r = await this.client.usergroups.users.list({ usergroup: group });
        for (const user of r.users ?? []) members.add(user);
      } catch (error) {
        // One unreadable group must not lock everyone out; the user IDs still count.
        const code = (error as { data?: { error?: string } }).data?.error ?? String(error);
        this.logger.warn({ group, code }, "could not expand a Slack user group");
      }
    }
    this.cache = { at: now, members };
    return members;
  }
}
