/**
 * The bench database: a shop's tables (customers, products, orders, order_items, events,
 * documents) filled server-side with INSERT … SELECT over generate_series, several chunks loaded
 * concurrently over separate connections. Every value is a function of the row id through
 * `hashint8extended`, so the same target size gives the same rows on every run. Text is drawn
 * word by word from a skewed vocabulary (see vocabulary.ts) and compresses like prose; events carry
 * jsonb, money is numeric(12,2), times are timestamptz. Afterwards: keys, indexes, foreign keys,
 * RLS policies, views (one security_invoker), a trigger, grants, then VACUUM (FREEZE, ANALYZE) so
 * the first pg_dump doesn't pay for hint bits and every measured run reads the same pages.
 */
import os from "node:os";
import pg from "pg";
import { MB } from "./measure.js";
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

export const DEFAULT_TARGET_BYTES = 550 * MB;

export interface TableStats {
  name: string;
  rows: number;
  /** pg_total_relation_size: heap + TOAST + indexes. */
  totalBytes: number;
  /** pg_table_size: heap + TOAST, no indexes. */
  tableBytes: number;
}

export interface BenchDatabase {
  url: string;
  targetBytes: number;
  /** pg_database_size after VACUUM. */
  databaseBytes: number;
  tables: TableStats[];
  /** Wall-clock milliseconds per phase and in total. */
  timings: { load: number; indexes: number; finish: number; total: number };
}

export interface CreateBenchDatabaseOptions {
  /** Connections used to load concurrently; default: CPU count, at least 2, at most 6. */
  concurrency?: number;
  /** Called with a line of progress now and then. */
  log?: (line: string) => void;
}

/**
 * Rows per table for a 550 MB database (pg_database_size, indexes included), scaled linearly for
 * other targets. Calibrated on Postgres 15; products stay at a catalogue-like size.
 */
const BASE_ROWS = {
  customers: 160_000,
  products: 20_000,
  orders: 490_000,
  events: 215_000,
  documents: 125_000,
} as const;

/** What an empty database already takes (catalogs), which doesn't scale with the rows. */
const EMPTY_DATABASE_BYTES = 8 * MB;

/** Rows per INSERT chunk: small enough that the work queue balances across connections. */
const CHUNK_ROWS = {
  customers: 50_000,
  products: 20_000,
  orders: 50_000,
  order_items: 50_000, // in orders
  events: 25_000,
  documents: 10_000,
} as const;

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

/**
 * Session-local generator functions. All are simple SQL functions, so the planner inlines them
 * into the INSERT … SELECT and nothing is called per row but built-ins. Those that use concat or
 * timestamptz arithmetic are STABLE: an IMMUTABLE function with a stable body is not inlined, and
 * a call that isn't inlined costs ~100 µs a sentence. They live in pg_temp and vanish with the
 * connection: nothing of the generator is left in the database or the dump. Exported for debugging.
 */
export function generatorFunctions(): string[] {
  const maxWords = 16;
  const sentenceWords: string[] = [];
  for (let i = 1; i <= maxWords; i++) {
    const word = `pg_temp.word(pg_temp.r(seed, ${i}))`;
    let part = i === 1 ? `initcap(${word})` : word;
    if (i === 3) part = `${part} || (ARRAY['','','',','])[1 + pg_temp.r(seed, 40) % 4]`;
    sentenceWords.push(i <= 5 ? part : `CASE WHEN 5 + pg_temp.r(seed, 0) % 12 >= ${i} THEN ${part} END`);
  }
  const maxSentences = 24;
  const bodyParts: string[] = [];
  for (let k = 1; k <= maxSentences; k++) {
    const separator = k === 1 ? "''" : k % 6 === 1 ? "E'\\n\\n'" : "' '";
    const part = `${separator} || pg_temp.sentence(seed * 64 + ${k})`;
    bodyParts.push(k <= 2 ? part : `CASE WHEN n >= ${k} THEN ${part} END`);
  }
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
    `CREATE FUNCTION pg_temp.sentence(seed bigint) RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT concat_ws(' ', ${sentenceWords.join(", ")}) || '.' $f$`,
    `CREATE FUNCTION pg_temp.body(seed bigint, n int) RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT concat(${bodyParts.join(", ")}) $f$`,
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

const SCHEMA_SQL = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');
CREATE TABLE customers (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  first_name text NOT NULL,
  last_name text NOT NULL,
  email text NOT NULL,
  phone text,
  company text,
  street text NOT NULL,
  city text NOT NULL,
  region text NOT NULL,
  postal_code text NOT NULL,
  country char(2) NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  lifetime_value numeric(12,2) NOT NULL DEFAULT 0,
  preferences jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz
);
CREATE TABLE products (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  sku text NOT NULL,
  name text NOT NULL,
  category text NOT NULL,
  description text NOT NULL,
  price numeric(12,2) NOT NULL,
  weight_grams integer NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  customer_id bigint NOT NULL,
  status order_status NOT NULL DEFAULT 'pending',
  placed_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz,
  subtotal numeric(12,2) NOT NULL,
  tax numeric(12,2) NOT NULL,
  shipping_cost numeric(12,2) NOT NULL,
  total numeric(12,2) NOT NULL,
  currency char(3) NOT NULL DEFAULT 'USD',
  shipping_address text NOT NULL,
  notes text
);
CREATE TABLE order_items (
  order_id bigint NOT NULL,
  line_no integer NOT NULL,
  product_id bigint NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price numeric(12,2) NOT NULL,
  discount numeric(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE events (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  customer_id bigint,
  session_id uuid NOT NULL,
  kind text NOT NULL,
  occurred_at timestamptz NOT NULL,
  payload jsonb NOT NULL
);
CREATE TABLE documents (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  customer_id bigint NOT NULL,
  kind text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;

interface Counts {
  customers: number;
  products: number;
  orders: number;
  events: number;
  documents: number;
}

function rowCounts(targetBytes: number): Counts {
  const scale = Math.max(
    0.001,
    (targetBytes - EMPTY_DATABASE_BYTES) / (DEFAULT_TARGET_BYTES - EMPTY_DATABASE_BYTES),
  );
  const scaled = (n: number) => Math.max(1_000, Math.round(n * scale));
  return {
    customers: scaled(BASE_ROWS.customers),
    products: Math.max(1_000, Math.min(BASE_ROWS.products, scaled(BASE_ROWS.products))),
    orders: scaled(BASE_ROWS.orders),
    events: scaled(BASE_ROWS.events),
    documents: scaled(BASE_ROWS.documents),
  };
}

/** One INSERT … SELECT of the ids [lo, hi] of a table. */
export function loadSql(table: keyof Counts, lo: number, hi: number, n: Counts): string[] {
  const ids = `generate_series(${lo}::bigint, ${hi}::bigint) AS g(id)`;
  switch (table) {
    case "customers":
      return [
        `INSERT INTO customers (id, first_name, last_name, email, phone, company, street, city, region,
           postal_code, country, is_active, lifetime_value, preferences, created_at, last_seen_at)
         SELECT id, fn, ln,
           lower(fn) || '.' || lower(ln) || id || '@' || pg_temp.email_domain(pg_temp.r(id, 3)),
           CASE WHEN pg_temp.r(id, 4) % 10 < 8 THEN
             '+1 (' || (200 + pg_temp.r(id, 5) % 800) || ') 555-' || lpad((pg_temp.r(id, 6) % 10000)::text, 4, '0')
           END,
           CASE WHEN pg_temp.r(id, 8) % 3 = 0 THEN
             pg_temp.company_word(pg_temp.r(id, 9)) || ' ' || pg_temp.company_suffix(pg_temp.r(id, 10))
           END,
           (1 + pg_temp.r(id, 11) % 9899) || ' ' || pg_temp.street(pg_temp.r(id, 12)) || ' '
             || pg_temp.street_suffix(pg_temp.r(id, 13))
             || CASE WHEN pg_temp.r(id, 14) % 5 = 0 THEN ', Apt ' || (1 + pg_temp.r(id, 15) % 40) ELSE '' END,
           pg_temp.city(c), pg_temp.region(c),
           lpad((10000 + pg_temp.r(id, 16) % 89999)::text, 5, '0'),
           pg_temp.country(c),
           pg_temp.r(id, 17) % 20 <> 0,
           pg_temp.money(pg_temp.r(id, 18), 500000),
           jsonb_build_object(
             'newsletter', pg_temp.r(id, 19) % 2 = 0,
             'language', (ARRAY['en','en','en','de','fr','es','ja','pt'])[1 + pg_temp.r(id, 20) % 8],
             'channels', CASE pg_temp.r(id, 21) % 3 WHEN 0 THEN '["email"]'::jsonb
               WHEN 1 THEN '["email","sms"]'::jsonb ELSE '["push"]'::jsonb END,
             'theme', CASE WHEN pg_temp.r(id, 22) % 2 = 0 THEN 'light' ELSE 'dark' END),
           pg_temp.at(id, ${n.customers}, 86400),
           pg_temp.at(id, ${n.customers}, 86400) + (pg_temp.r(id, 23) % 400) * interval '1 day'
         FROM ${ids},
           LATERAL (SELECT pg_temp.first_name(pg_temp.r(id, 1)) AS fn, pg_temp.last_name(pg_temp.r(id, 2)) AS ln,
                           pg_temp.r(id, 24) AS c) AS x`,
      ];
    case "products":
      return [
        `INSERT INTO products (id, sku, name, category, description, price, weight_grams, attributes, created_at)
         SELECT id, 'SKU-' || lpad(id::text, 6, '0'),
           pg_temp.product_adjective(pg_temp.r(id, 1)) || ' ' || pg_temp.product_material(pg_temp.r(id, 2)) || ' '
             || pg_temp.product_noun(pg_temp.r(id, 3)),
           pg_temp.category(pg_temp.r(id, 4)),
           pg_temp.body(id + 1000000000, (2 + pg_temp.r(id, 5) % 4)::int),
           pg_temp.money(pg_temp.r(id, 6), 50000) + 0.99,
           50 + pg_temp.r(id, 7) % 20000,
           jsonb_build_object(
             'color', (ARRAY['black','white','red','blue','green','grey','navy','olive'])[1 + pg_temp.r(id, 8) % 8],
             'size', (ARRAY['XS','S','M','L','XL','one size'])[1 + pg_temp.r(id, 9) % 6],
             'warranty_months', (ARRAY[0, 6, 12, 24])[1 + pg_temp.r(id, 10) % 4],
             'in_stock', pg_temp.r(id, 11) % 7 <> 0),
           pg_temp.at(id, ${n.products}, 3600)
         FROM ${ids}`,
      ];
    case "orders":
      return [
        `INSERT INTO orders (id, customer_id, status, placed_at, shipped_at, subtotal, tax, shipping_cost, total,
           currency, shipping_address, notes)
         SELECT id, cust, st, placed,
           CASE WHEN st IN ('shipped', 'delivered', 'refunded')
             THEN placed + (6 + pg_temp.r(id, 3) % 120) * interval '1 hour' END,
           sub, round(sub * 0.08, 2), ship, sub + round(sub * 0.08, 2) + ship,
           CASE pg_temp.country(pg_temp.r(cust, 24)) WHEN 'US' THEN 'USD' WHEN 'CA' THEN 'CAD' WHEN 'GB' THEN 'GBP'
             WHEN 'JP' THEN 'JPY' WHEN 'AU' THEN 'AUD' ELSE 'EUR' END,
           (1 + pg_temp.r(cust, 11) % 9899) || ' ' || pg_temp.street(pg_temp.r(cust, 12)) || ' '
             || pg_temp.street_suffix(pg_temp.r(cust, 13)) || E'\\n' || pg_temp.city(pg_temp.r(cust, 24)) || ', '
             || pg_temp.region(pg_temp.r(cust, 24)) || ' ' || lpad((10000 + pg_temp.r(cust, 16) % 89999)::text, 5, '0')
             || E'\\n' || pg_temp.country(pg_temp.r(cust, 24)),
           CASE WHEN pg_temp.r(id, 4) % 10 < 3 THEN pg_temp.sentence(id + 2000000000) END
         FROM ${ids},
           LATERAL (SELECT 1 + pg_temp.r(id, 1) % ${n.customers} AS cust,
             (CASE WHEN id > ${n.orders} - ${Math.ceil(n.orders / 200)} THEN
                (ARRAY['pending','paid','shipped'])[1 + pg_temp.r(id, 2) % 3]
              ELSE (ARRAY['delivered','delivered','delivered','delivered','delivered','delivered','shipped',
                          'cancelled','refunded','delivered'])[1 + pg_temp.r(id, 2) % 10] END)::order_status AS st,
             pg_temp.at(id, ${n.orders}, 3600) AS placed,
             pg_temp.money(pg_temp.r(id, 5), 40000) + 5 AS sub,
             (ARRAY[0, 0, 4.99, 9.99, 14.50])[1 + pg_temp.r(id, 6) % 5]::numeric(12,2) AS ship) AS x`,
        `INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price, discount)
         SELECT id, line, 1 + pg_temp.r(id * 16 + line, 1) % ${n.products},
           1 + (pg_temp.r(id * 16 + line, 2) % 100) / 70 + (pg_temp.r(id * 16 + line, 3) % 100) / 95 * 4,
           pg_temp.money(pg_temp.r(id * 16 + line, 4), 20000) + 0.99,
           CASE WHEN pg_temp.r(id * 16 + line, 5) % 6 = 0 THEN pg_temp.money(pg_temp.r(id * 16 + line, 6), 1500)
             ELSE 0 END
         FROM ${ids}, generate_series(1, (1 + pg_temp.r(id, 9) % 4)::int) AS line`,
      ];
    case "events":
      return [
        `INSERT INTO events (id, customer_id, session_id, kind, occurred_at, payload)
         SELECT id, CASE WHEN pg_temp.r(id, 1) % 5 = 0 THEN NULL ELSE 1 + pg_temp.r(id, 2) % ${n.customers} END,
           md5('session' || (id / 7))::uuid, kind, pg_temp.at(id, ${n.events}, 60),
           jsonb_strip_nulls(jsonb_build_object(
             'path', CASE WHEN kind = 'product_view'
               THEN '/products/' || (1 + pg_temp.r(id, 3) % ${n.products}) ELSE pg_temp.page_path(pg_temp.r(id, 3)) END,
             'referrer', nullif(pg_temp.referrer(pg_temp.r(id, 4)), ''),
             'user_agent', pg_temp.user_agent(pg_temp.r(id / 7, 5)),
             'ip', '10.' || (pg_temp.r(id / 7, 6) % 256) || '.' || (pg_temp.r(id / 7, 7) % 256) || '.'
               || (pg_temp.r(id / 7, 8) % 256),
             'duration_ms', 20 + pg_temp.r(id, 9) % 5000,
             'viewport', jsonb_build_object('w', (ARRAY[390, 412, 768, 1280, 1440, 1920])[1 + pg_temp.r(id / 7, 10) % 6],
               'h', (ARRAY[844, 915, 1024, 720, 900, 1080])[1 + pg_temp.r(id / 7, 10) % 6]),
             'properties', CASE
               WHEN kind IN ('add_to_cart', 'remove_from_cart', 'checkout_started', 'checkout_completed') THEN
                 jsonb_build_object('product_id', 1 + pg_temp.r(id, 11) % ${n.products},
                   'quantity', 1 + pg_temp.r(id, 12) % 3, 'price', pg_temp.money(pg_temp.r(id, 13), 20000),
                   'currency', 'USD', 'coupon', CASE WHEN pg_temp.r(id, 14) % 9 = 0 THEN 'SAVE10' END)
               WHEN kind = 'search' THEN
                 jsonb_build_object('query', pg_temp.word(pg_temp.r(id, 15)) || ' ' || pg_temp.common_word(pg_temp.r(id, 16)),
                   'results', pg_temp.r(id, 17) % 200, 'page', 1 + pg_temp.r(id, 18) % 3)
               ELSE jsonb_build_object('experiment', 'checkout-v' || (1 + pg_temp.r(id / 7, 19) % 3),
                   'variant', CASE WHEN pg_temp.r(id / 7, 20) % 2 = 0 THEN 'control' ELSE 'treatment' END)
             END,
             'message', CASE WHEN kind LIKE 'support%' OR pg_temp.r(id, 21) % 4 = 0
               THEN pg_temp.sentence(id + 3000000000) END))
         FROM ${ids}, LATERAL (SELECT pg_temp.event_kind(pg_temp.r(id, 22)) AS kind) AS x`,
      ];
    case "documents":
      return [
        `INSERT INTO documents (id, customer_id, kind, title, body, tags, created_at, updated_at)
         SELECT id, 1 + pg_temp.r(id, 1) % ${n.customers}, pg_temp.doc_kind(pg_temp.r(id, 2)),
           rtrim(pg_temp.sentence(id + 4000000000), '.'),
           pg_temp.body(id, (3 + pg_temp.r(id, 3) % 20)::int),
           ARRAY(SELECT DISTINCT pg_temp.tag(pg_temp.r(id * 4 + t, 4)) FROM generate_series(1, (pg_temp.r(id, 5) % 4)::int) t),
           created, created + (pg_temp.r(id, 6) % 90) * interval '1 day'
         FROM ${ids}, LATERAL (SELECT pg_temp.at(id, ${n.documents}, 86400) AS created) AS x`,
      ];
  }
}

/** Keys and indexes, per table (statements on one table run in order, tables in parallel). */
const INDEX_SQL: Record<string, string[]> = {
  customers: [
    "ALTER TABLE customers ADD PRIMARY KEY (id)",
    "CREATE UNIQUE INDEX customers_email_key ON customers (lower(email))",
    "CREATE INDEX customers_country_city_idx ON customers (country, city)",
  ],
  products: [
    "ALTER TABLE products ADD PRIMARY KEY (id)",
    "ALTER TABLE products ADD CONSTRAINT products_sku_key UNIQUE (sku)",
    "CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops)",
  ],
  orders: [
    "ALTER TABLE orders ADD PRIMARY KEY (id)",
    "CREATE INDEX orders_customer_id_idx ON orders (customer_id)",
    "CREATE INDEX orders_placed_at_idx ON orders (placed_at)",
  ],
  order_items: [
    "ALTER TABLE order_items ADD PRIMARY KEY (order_id, line_no)",
    "CREATE INDEX order_items_product_id_idx ON order_items (product_id)",
  ],
  events: [
    "ALTER TABLE events ADD PRIMARY KEY (id)",
    "CREATE INDEX events_customer_time_idx ON events (customer_id, occurred_at) WHERE customer_id IS NOT NULL",
  ],
  documents: [
    "ALTER TABLE documents ADD PRIMARY KEY (id)",
    "CREATE INDEX documents_customer_id_idx ON documents (customer_id)",
  ],
};

const FOREIGN_KEYS_SQL = [
  "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id)",
  "ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE",
  "ALTER TABLE order_items ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id)",
  "ALTER TABLE documents ADD CONSTRAINT documents_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id)",
  "ALTER TABLE events ADD CONSTRAINT events_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL",
];

const FINISH_SQL = `
SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers));
SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products));
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));
SELECT setval(pg_get_serial_sequence('events', 'id'), (SELECT max(id) FROM events));
SELECT setval(pg_get_serial_sequence('documents', 'id'), (SELECT max(id) FROM documents));

CREATE VIEW customer_order_totals AS
  SELECT c.id AS customer_id, c.first_name || ' ' || c.last_name AS name, c.country,
         count(o.id) AS orders, coalesce(sum(o.total), 0)::numeric(14,2) AS total_spent, max(o.placed_at) AS last_order_at
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id;
CREATE VIEW my_documents WITH (security_invoker = true) AS
  SELECT id, kind, title, created_at, updated_at FROM documents;
CREATE VIEW recent_events WITH (security_barrier = true) AS
  SELECT id, customer_id, kind, occurred_at, payload->>'path' AS path
  FROM events WHERE occurred_at > timestamptz '2023-12-01 00:00:00+00';

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_app') THEN CREATE ROLE bench_app NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_readonly') THEN CREATE ROLE bench_readonly NOLOGIN; END IF;
END $$;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY documents_owner ON documents FOR ALL TO bench_app
  USING (customer_id = nullif(current_setting('app.customer_id', true), '')::bigint)
  WITH CHECK (customer_id = nullif(current_setting('app.customer_id', true), '')::bigint);
CREATE POLICY documents_read_all ON documents FOR SELECT TO bench_readonly USING (true);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_owner ON orders FOR SELECT TO bench_app
  USING (customer_id = nullif(current_setting('app.customer_id', true), '')::bigint);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO bench_readonly;
GRANT SELECT, INSERT, UPDATE ON documents, orders, order_items TO bench_app;
GRANT SELECT ON customers, products, my_documents TO bench_app;

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER documents_set_updated_at BEFORE UPDATE ON documents
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE events IS 'Clickstream events; payload is the client''s JSON as received.';
COMMENT ON TABLE documents IS 'Notes, tickets and emails attached to customers.';
`;

const TABLES = ["customers", "products", "orders", "order_items", "events", "documents"] as const;

/** Run tasks over `workers` connections, each task on whichever connection is free. */
async function runPool<T>(
  clients: pg.Client[],
  tasks: T[],
  run: (client: pg.Client, task: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      // Bounded: each worker takes at most tasks.length tasks.
      for (let taken = 0; taken < tasks.length; taken++) {
        const index = next++;
        const task = tasks[index];
        if (task === undefined) return;
        await run(client, task);
      }
    }),
  );
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!name) throw new Error(`The bench URL names no database: ${url}`);
  return name;
}

function assertLocal(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error(`The bench only creates databases on a local server, not on ${host}.`);
  }
}

/** Create the database the URL names (on the same server) if it doesn't exist; refuse one that has tables. */
async function ensureEmptyDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const adminUrl = new URL(url);
  adminUrl.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      return;
    }
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query(
      "SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
    );
    const n: unknown = tables.rows[0]?.n;
    if (typeof n === "number" && n > 0) {
      throw new Error(
        `Database ${name} already has ${n} tables; the bench fills only a new, empty database.`,
      );
    }
  } finally {
    await client.end();
  }
}

async function connect(url: string, count: number): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = new pg.Client({ connectionString: url });
      clients.push(client);
      await client.connect();
      await client.query(
        "SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET work_mem = '64MB'; SET jit = off",
      );
      for (const sql of generatorFunctions()) await client.query(sql);
    }
  } catch (error) {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    throw error;
  }
  return clients;
}

function chunks(total: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let lo = 1; lo <= total; lo += size) out.push([lo, Math.min(total, lo + size - 1)]);
  return out;
}

/**
 * Create and fill the bench database at `url` (created if missing; must be empty) so that
 * pg_database_size comes out near `targetBytes`. Deterministic: the same target gives the same rows.
 */
export async function createBenchDatabase(
  url: string,
  targetBytes: number = DEFAULT_TARGET_BYTES,
  options: CreateBenchDatabaseOptions = {},
): Promise<BenchDatabase> {
  assertLocal(url);
  const log = options.log ?? (() => {});
  const started = performance.now();
  await ensureEmptyDatabase(url);
  const counts = rowCounts(targetBytes);
  const workers = options.concurrency ?? Math.min(6, Math.max(2, os.availableParallelism()));
  const clients = await connect(url, workers);
  const [first] = clients;
  if (!first) throw new Error("no connection");
  try {
    await first.query(SCHEMA_SQL);

    // Load: biggest chunks first so the connections finish together.
    const loads: Array<{ table: keyof Counts; lo: number; hi: number; weight: number }> = [];
    const weights: Record<keyof Counts, number> = {
      customers: 1,
      products: 2,
      orders: 2.6,
      events: 2,
      documents: 6,
    };
    for (const table of ["customers", "products", "orders", "events", "documents"] as const) {
      for (const [lo, hi] of chunks(counts[table], CHUNK_ROWS[table])) {
        loads.push({ table, lo, hi, weight: (hi - lo + 1) * weights[table] });
      }
    }
    loads.sort((a, b) => b.weight - a.weight);
    const loadStarted = performance.now();
    let done = 0;
    await runPool(clients, loads, async (client, { table, lo, hi }) => {
      for (const sql of loadSql(table, lo, hi, counts)) await client.query(sql);
      done++;
      if (done % 10 === 0 || done === loads.length) log(`loaded ${done}/${loads.length} chunks`);
    });
    const load = performance.now() - loadStarted;
    log(`load ${(load / 1000).toFixed(1)} s`);

    const indexStarted = performance.now();
    const indexTasks = Object.values(INDEX_SQL).sort((a, b) => b.length - a.length);
    await runPool(clients, indexTasks, async (client, statements) => {
      for (const sql of statements) await client.query(sql);
    });
    await runPool(clients, FOREIGN_KEYS_SQL, async (client, sql) => {
      await client.query(sql);
    });
    const indexes = performance.now() - indexStarted;
    log(`keys and indexes ${(indexes / 1000).toFixed(1)} s`);

    const finishStarted = performance.now();
    await first.query(FINISH_SQL);
    await runPool(clients, [...TABLES], async (client, table) => {
      await client.query(`VACUUM (FREEZE, ANALYZE) ${table}`);
    });
    await first.query("CHECKPOINT");
    const finish = performance.now() - finishStarted;

    const size = await first.query("SELECT pg_database_size(current_database())::bigint AS bytes");
    const stats = await first.query(
      `SELECT c.relname AS name, c.reltuples::bigint AS rows, pg_total_relation_size(c.oid)::bigint AS total,
              pg_table_size(c.oid)::bigint AS tbl
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY total DESC`,
    );
    const tables: TableStats[] = stats.rows.map((row: Record<string, unknown>) => ({
      name: String(row.name),
      rows: Number(row.rows),
      totalBytes: Number(row.total),
      tableBytes: Number(row.tbl),
    }));
    const databaseBytes = Number(size.rows[0]?.bytes);
    log(`pg_database_size ${(databaseBytes / MB).toFixed(0)} MB`);
    return {
      url,
      targetBytes,
      databaseBytes,
      tables,
      timings: { load, indexes, finish, total: performance.now() - started },
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}
