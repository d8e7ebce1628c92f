-- Voucher identity (docs/domain.md, rule 5): one State Treasury voucher is accepted once,
-- however it is spelt. voucher_key is the voucher's identity, ledger.Voucher.Identity:
-- office, type and number in upper case, the number without the zeros that lead its
-- first run of digits, and the date ("KBNN-PN C2-02A 12/KB-TT 2024-03-01"). The writer
-- fills it for every event with a voucher; the unique index below is the backstop of the
-- write model's check, as events_voucher_key is for the exact spelling.
--
-- Events recorded before this migration keep voucher_key NULL: the events table is
-- append-only and the hash covers the event as recorded, so nothing is rewritten. The
-- write model folds the identities of every event on start, old ones included, so a
-- new voucher that only re-spells an old one is still refused; the index covers the
-- events recorded from now on (two old vouchers that differ only in spelling, recorded
-- before the rule, stay as they are).

-- +goose Up
ALTER TABLE events ADD COLUMN voucher_key text NULL;
CREATE UNIQUE INDEX events_voucher_identity ON events (voucher_key) WHERE voucher_key IS NOT NULL;

-- +goose Down
DROP INDEX events_voucher_identity;
ALTER TABLE events DROP COLUMN voucher_key;
