/** Everything that leaves the process (logs, messages, manifests) passes through here first. */

const URL_WITH_PASSWORD = /\b(postgres(?:ql)?:\/\/[^:/?#@\s]*):([^@/?#\s]*)@/gi;
const PASSWORD_PARAM = /\b(\w*password|passwd|pwd)=([^&\s]+)/gi;

/** `postgresql://user:secret@host/db` → `postgresql://user:****@host/db`, anywhere in a text. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_WITH_PASSWORD, "$1:****@").replace(PASSWORD_PARAM, "$1=****");
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join("****");
  }
  return out;
}

/** A connection URL for display: password masked, query kept (sslmode matters to the reader). */
export function displayUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = "****";
  copy.searchParams.delete("password");
  return copy.href.replace(/password=[^&]*&?/i, "");
}
