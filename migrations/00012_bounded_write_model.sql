-- The bounded write model (ledger/refcache.go): the sequencer no longer folds every
-- voucher into memory; it looks up, once per batch, the vouchers its cache and filter
-- cannot answer for, by identity, in voucher_key (events_voucher_identity, 00008), and
-- the disbursements a settlement or reversal names, by id (the UNIQUE on id) with the
-- sums of what names them (events_original_id, 00001).
--
-- Events recorded before 00008 keep voucher_key NULL (the table is append-only), and the
-- write model used to fold their identities on start, so a new voucher that only
-- re-spells an old one was refused. To keep that without holding them in memory, the
-- lookup computes their identity in SQL, and this index serves it: the identity less
-- its date (office, type and number in upper case, the number without the zeros that
-- lead its first run of digits: ledger.Voucher.Identity) and the date, over those old
-- events only. The expression must stay the one in pgstore.Store.LookupVouchers.

-- +goose Up
CREATE INDEX events_legacy_voucher_identity ON events (
    (upper(voucher_office) || ' ' || upper(voucher_type) || ' ' || upper(regexp_replace(voucher_number, '^0+(?=[0-9])', ''))),
    voucher_date)
    WHERE voucher_key IS NULL AND voucher_number IS NOT NULL;

-- +goose Down
DROP INDEX events_legacy_voucher_identity;
