/** The INSERT … SELECT statements that fill each table, every value a function of the row id. */
import type { Counts } from "./dataset-size.js";

/** Customers: names, e-mail, phone, maybe a company, a street address, preferences as jsonb. */
function customersSql(ids: string, n: Counts): string[] {
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
}

/** Products: a catalogue of named, priced items with a short description and jsonb attributes. */
function productsSql(ids: string, n: Counts): string[] {
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
}

/** Orders, then their 1 to 4 lines each (order_items are loaded in the same chunk as their orders). */
function ordersSql(ids: string, n: Counts): string[] {
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
}

/** Events: clickstream rows with a jsonb payload whose shape depends on the kind. */
function eventsSql(ids: string, n: Counts): string[] {
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
}

/** Documents: notes, tickets and the like, several paragraphs of prose each, with tags. */
function documentsSql(ids: string, n: Counts): string[] {
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

/** One INSERT … SELECT of the ids [lo, hi] of a table. */
export function loadSql(table: keyof Counts, lo: number, hi: number, n: Counts): string[] {
  const ids = `generate_series(${lo}::bigint, ${hi}::bigint) AS g(id)`;
  switch (table) {
    case "customers":
      return customersSql(ids, n);
    case "products":
      return productsSql(ids, n);
    case "orders":
      return ordersSql(ids, n);
    case "events":
      return eventsSql(ids, n);
    case "documents":
      return documentsSql(ids, n);
  }
}
