-- postings: one row per budget line an event touches, with the signed change to that
-- line's available balance (available = allocated + in − out − cancelled − disbursed,
-- docs/domain.md). With it, "how much is left by district and project" is a plain
-- sum(delta) ... GROUP BY. Carry-overs and advance settlements do not change the
-- available balance; they appear with delta 0 so that an auditor listing a line's
-- postings sees every event that names it.
--
-- kind says which side of which event the row is:
--   allocation +, transfer_out −, transfer_in +, cancellation −, disbursement −,
--   reversal +, carry_over 0, settlement 0.
-- event_kind is the event's own kind (suballocation, reallocation, advance, payment).

-- +goose Up
CREATE VIEW postings AS
SELECT e.position,
       e.id                                AS event_id,
       e.type,
       e.effective_date,
       e.recorded_at,
       p.kind,
       e.data ->> 'kind'                   AS event_kind,
       p.line,
       p.delta,
       split_part(p.line, ':', 1)          AS program,
       split_part(p.line, ':', 2)::integer AS year,
       split_part(p.line, ':', 3)          AS source,
       split_part(p.line, ':', 4)          AS project,
       split_part(p.line, ':', 5)          AS unit
FROM events e
CROSS JOIN LATERAL (
    SELECT e.line AS line,
           CASE e.type
               WHEN 'funds.allocated'       THEN 'allocation'
               WHEN 'funds.transferred'     THEN 'transfer_out'
               WHEN 'funds.cancelled'       THEN 'cancellation'
               WHEN 'funds.disbursed'       THEN 'disbursement'
               WHEN 'disbursement.reversed' THEN 'reversal'
               WHEN 'funds.carried_over'    THEN 'carry_over'
               WHEN 'advance.settled'       THEN 'settlement'
           END AS kind,
           CASE e.type
               WHEN 'funds.allocated'       THEN e.amount
               WHEN 'funds.transferred'     THEN -e.amount
               WHEN 'funds.cancelled'       THEN -e.amount
               WHEN 'funds.disbursed'       THEN -e.amount
               WHEN 'disbursement.reversed' THEN e.amount
               ELSE 0
           END AS delta
    UNION ALL
    SELECT e.counter_line, 'transfer_in', e.amount
    WHERE e.type = 'funds.transferred'
) p
WHERE e.type IN ('funds.allocated', 'funds.transferred', 'funds.cancelled', 'funds.disbursed',
                 'disbursement.reversed', 'funds.carried_over', 'advance.settled');

-- +goose Down
DROP VIEW postings;
