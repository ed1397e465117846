/**
 * The session-local SQL functions the row generators call: a hash of the row id picks words, names,
 * places and times, so the same id always gives the same values.
 */
import {
  CATEGORIES,
  CITIES,
  COMMON_WORDS,
  COMPANY_SUFFIXES,
  COMPANY_WORDS,
  DOC_KINDS,
  EMAIL_DOMAINS,
  EVENT_KINDS,
  FIRST_NAMES,
  FUNCTION_WORDS,
  LAST_NAMES,
  PAGE_PATHS,
  PRODUCT_ADJECTIVES,
  PRODUCT_MATERIALS,
  PRODUCT_NOUNS,
  REFERRERS,
  STREET_NAMES,
  STREET_SUFFIXES,
  TAGS,
  TAIL_PREFIXES,
  TAIL_STEMS,
  TAIL_SUFFIXES,
  USER_AGENTS,
} from "./vocabulary.js";

/** 2021-01-01T00:00:00Z to 2024-01-01T00:00:00Z: ids map onto this span in order. */
const EPOCH = "timestamptz '2021-01-01 00:00:00+00'";
const SPAN_SECONDS = 3 * 365 * 86_400;

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlTextArray(values: readonly string[]): string {
  return `ARRAY[${values.map(sqlString).join(",")}]::text[]`;
}

/** `pg_temp.<name>(h bigint) → text`: the element of `values` that the hash `h` picks, uniformly. */
function pickFunction(name: string, values: readonly string[]): string {
  return `CREATE FUNCTION pg_temp.${name}(h bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT (${sqlTextArray(values)})[1 + h % ${values.length}] $f$`;
}

/** `pg_temp.<name>(h bigint) → text`, skewed to the front of the list (density ∝ 1/√rank). */
function skewedPickFunction(name: string, values: readonly string[]): string {
  return `CREATE FUNCTION pg_temp.${name}(h bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT (${sqlTextArray(values)})[1 + ((h % 1000) * (h % 1000) * ${values.length}) / 1000000] $f$`;
}

/** `pg_temp.sentence(seed) → text`: 5 to 16 words, capitalised, sometimes a comma, a full stop. */
function sentenceFunction(): string {
  const maxWords = 16;
  const sentenceWords: string[] = [];
  for (let i = 1; i <= maxWords; i++) {
    const word = `pg_temp.word(pg_temp.r(seed, ${i}))`;
    let part = i === 1 ? `initcap(${word})` : word;
    if (i === 3) part = `${part} || (ARRAY['','','',','])[1 + pg_temp.r(seed, 40) % 4]`;
    sentenceWords.push(i <= 5 ? part : `CASE WHEN 5 + pg_temp.r(seed, 0) % 12 >= ${i} THEN ${part} END`);
  }
  return `CREATE FUNCTION pg_temp.sentence(seed bigint) RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT concat_ws(' ', ${sentenceWords.join(", ")}) || '.' $f$`;
}

/** `pg_temp.body(seed, n) → text`: n sentences (at most 24), a blank line after every sixth. */
function bodyFunction(): string {
  const maxSentences = 24;
  const bodyParts: string[] = [];
  for (let k = 1; k <= maxSentences; k++) {
    const separator = k === 1 ? "''" : k % 6 === 1 ? "E'\\n\\n'" : "' '";
    const part = `${separator} || pg_temp.sentence(seed * 64 + ${k})`;
    bodyParts.push(k <= 2 ? part : `CASE WHEN n >= ${k} THEN ${part} END`);
  }
  return `CREATE FUNCTION pg_temp.body(seed bigint, n int) RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT concat(${bodyParts.join(", ")}) $f$`;
}

/**
 * Session-local generator functions. All are simple SQL functions, so the planner inlines them
 * into the INSERT … SELECT and nothing is called per row but built-ins. Those that use concat or
 * timestamptz arithmetic are STABLE: an IMMUTABLE function with a stable body is not inlined, and
 * a call that isn't inlined costs ~100 µs a sentence. They live in pg_temp and vanish with the
 * connection: nothing of the generator is left in the database or the dump. Exported for debugging.
 */
export function generatorFunctions(): string[] {
  return [
    `CREATE FUNCTION pg_temp.r(id bigint, salt int) RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$
      SELECT hashint8extended(id, salt) & 9223372036854775807 $f$`,
    skewedPickFunction("function_word", FUNCTION_WORDS),
    skewedPickFunction("common_word", COMMON_WORDS),
    pickFunction("tail_prefix", TAIL_PREFIXES),
    pickFunction("tail_stem", TAIL_STEMS),
    pickFunction("tail_suffix", TAIL_SUFFIXES),
    `CREATE FUNCTION pg_temp.word(h bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
      SELECT CASE
        WHEN h % 100 < 50 THEN pg_temp.function_word(h / 100)
        WHEN h % 100 < 82 THEN pg_temp.common_word(h / 100)
        ELSE pg_temp.tail_prefix(h / 100) || pg_temp.tail_stem(h / 10000) || pg_temp.tail_suffix(h / 1000000)
      END $f$`,
    sentenceFunction(),
    bodyFunction(),
    pickFunction("first_name", FIRST_NAMES),
    pickFunction("last_name", LAST_NAMES),
    pickFunction("street", STREET_NAMES),
    pickFunction("street_suffix", STREET_SUFFIXES),
    pickFunction(
      "city",
      CITIES.map(([city]) => city),
    ),
    pickFunction(
      "region",
      CITIES.map(([, region]) => region),
    ),
    pickFunction(
      "country",
      CITIES.map(([, , country]) => country),
    ),
    pickFunction("email_domain", EMAIL_DOMAINS),
    pickFunction("company_word", COMPANY_WORDS),
    pickFunction("company_suffix", COMPANY_SUFFIXES),
    pickFunction("product_adjective", PRODUCT_ADJECTIVES),
    pickFunction("product_material", PRODUCT_MATERIALS),
    pickFunction("product_noun", PRODUCT_NOUNS),
    pickFunction("category", CATEGORIES),
    pickFunction("event_kind", EVENT_KINDS),
    pickFunction("user_agent", USER_AGENTS),
    pickFunction("page_path", PAGE_PATHS),
    pickFunction("referrer", REFERRERS),
    pickFunction("doc_kind", DOC_KINDS),
    pickFunction("tag", TAGS),
    `CREATE FUNCTION pg_temp.at(id bigint, n bigint, jitter int) RETURNS timestamptz LANGUAGE sql STABLE AS $f$
      SELECT ${EPOCH} + ((id * ${SPAN_SECONDS}) / greatest(n, 1) + pg_temp.r(id, 7) % greatest(jitter, 1)) * interval '1 second' $f$`,
    `CREATE FUNCTION pg_temp.money(h bigint, cents int) RETURNS numeric LANGUAGE sql IMMUTABLE AS $f$
      SELECT ((h % cents) / 100.0)::numeric(12,2) $f$`,
  ];
}
