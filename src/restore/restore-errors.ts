/** pg_restore's stderr, split into errors and classified: pure, tested on text alone. */

export interface RestoreError {
  message: string;
  command: string | undefined;
  /** Why it doesn't fail the test, when it doesn't. */
  expected: string | undefined;
}

/**
 * Blocks start at `pg_restore: error:`; DETAIL/HINT/"Command was:" lines belong to the block above.
 * The closing "errors ignored on restore: N" warning is a summary, not an error.
 */
export function parseRestoreErrors(stderr: string): RestoreError[] {
  const blocks: { message: string; command: string | undefined }[] = [];
  for (const line of stderr.split("\n")) {
    const start = /^pg_restore: error: (.*)$/.exec(line);
    if (start?.[1] !== undefined) {
      blocks.push({ message: start[1].replace(/^could not execute query: /, ""), command: undefined });
      continue;
    }
    const last = blocks.at(-1);
    const command = /^Command was: (.*)$/.exec(line);
    if (last && command?.[1] !== undefined) last.command = command[1];
  }
  const missingExtensions = new Set<string>();
  for (const b of blocks) {
    const m =
      /extension "([^"]+)" is not available|could not open extension control file ".*\/([^/"]+)\.control"/.exec(
        b.message,
      );
    const name = m?.[1] ?? m?.[2];
    if (name) missingExtensions.add(name);
  }
  return blocks.map((b) => ({ ...b, expected: expectedReason(b, missingExtensions) }));
}

function expectedReason(
  block: { message: string; command: string | undefined },
  missingExtensions: Set<string>,
): string | undefined {
  const ext = extensionNotAvailable(block.message);
  if (ext) return `extension ${ext} is not shipped with this scratch server (a Supabase-only extension)`;
  // The comment on an extension that could not be created.
  const comment = /^COMMENT ON EXTENSION "?([\w-]+)"?/.exec(block.command ?? "")?.[1];
  if (comment && missingExtensions.has(comment))
    return `comment on extension ${comment}, which is not available here`;
  return undefined;
}

/** Postgres 15.x+ says `extension "x" is not available`; older ones name the missing control file. */
function extensionNotAvailable(message: string): string | undefined {
  const m =
    /extension "([^"]+)" is not available|could not open extension control file "[^"]*\/([^/"]+)\.control"/.exec(
      message,
    );
  return m?.[1] ?? m?.[2];
}

export function missingExtensions(errors: RestoreError[]): Set<string> {
  const names = new Set<string>();
  for (const e of errors) {
    const ext = extensionNotAvailable(e.message);
    if (ext) names.add(ext);
  }
  return names;
}
