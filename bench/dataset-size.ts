/** How big the bench database gets: rows per table for a target size, and the chunks they load in. */
import { MB } from "./measure.js";

export const DEFAULT_TARGET_BYTES = 550 * MB;

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
export const CHUNK_ROWS = {
  customers: 50_000,
  products: 20_000,
  orders: 50_000,
  order_items: 50_000, // in orders
  events: 25_000,
  documents: 10_000,
} as const;

export interface Counts {
  customers: number;
  products: number;
  orders: number;
  events: number;
  documents: number;
}

export function rowCounts(targetBytes: number): Counts {
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

export function chunks(total: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let lo = 1; lo <= total; lo += size) out.push([lo, Math.min(total, lo + size - 1)]);
  return out;
}
