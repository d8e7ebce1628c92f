-- Throughput: two index entries fewer for every event PostgreSQL stores (COPY of 200,000
-- disbursements: 3.7 s with the indexes of 00012, 3.0 s without these two).
--
-- events_voucher_key (00001) keeps a voucher's exact spelling unique. Since 00008 the
-- writer fills voucher_key, the voucher's identity, for every event with a voucher, and
-- events_voucher_identity keeps it unique: two vouchers spelt the same have the same
-- identity, so that index refuses everything events_voucher_key would, and more.
-- The events recorded before 00008 (voucher_key NULL) were unique by spelling when they
-- were written, and the table is append-only. So events_voucher_key can no longer refuse
-- anything, yet PostgreSQL maintained it at every insert: it goes.
--
-- What the database no longer checks: a new voucher spelt exactly as one recorded before
-- 00008. The write model refuses it (the store's voucher lookup finds old events by their
-- identity, computed in SQL over events_legacy_voucher_identity, 00012; test
-- TestLookupVouchersLegacy); a database without events older than 00008 has nothing to check.
--
-- events_recorded_at (00001) resolved "as known at" a time to the last position recorded
-- by then. recorded_at never decreases along positions (the sequencer never lets the
-- clock go back) and positions have no gap, so a binary search over the primary key finds
-- that position as fast (pgstore.Store.PositionAt) without an index entry per event.

-- +goose Up
DROP INDEX events_voucher_key;
DROP INDEX events_recorded_at;

-- +goose Down
CREATE INDEX events_recorded_at ON events (recorded_at);
CREATE UNIQUE INDEX events_voucher_key ON events (voucher_office, voucher_type, voucher_number, voucher_date)
    WHERE voucher_number IS NOT NULL;
