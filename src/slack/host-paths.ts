/**
 * Text bound for Slack with the backups folder's path on the bot's host named, not shown: a reader
 * in the channel can't use `/srv/dbbackup/backups/...`, and it tells an attacker where things are. Pure.
 */
export function onTheBotsHost(text: string, root: string): string {
  if (!root || root === "/") return text;
  const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text.replace(new RegExp(`${escaped}(?:/[^\\s,;:)]*)?`, "g"), "the backups folder on the bot's host");
}
