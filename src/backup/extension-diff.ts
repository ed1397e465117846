/** What changed in the extensions between two backups: pure, reused by later `diff` work. */

export interface ExtensionLike {
  name: string;
  version: string;
}

export interface ExtensionChanges {
  added: string[];
  removed: string[];
  changed: { name: string; from: string; to: string }[];
}

export function diffExtensions(before: ExtensionLike[], after: ExtensionLike[]): ExtensionChanges {
  const old = new Map(before.map((e) => [e.name, e.version]));
  const now = new Map(after.map((e) => [e.name, e.version]));
  return {
    added: [...now.keys()].filter((n) => !old.has(n)).sort(),
    removed: [...old.keys()].filter((n) => !now.has(n)).sort(),
    changed: [...now.entries()]
      .filter(([n, v]) => old.has(n) && old.get(n) !== v)
      .map(([name, to]) => ({ name, from: old.get(name) ?? "", to }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export function hasChanges(c: ExtensionChanges): boolean {
  return c.added.length + c.removed.length + c.changed.length > 0;
}
