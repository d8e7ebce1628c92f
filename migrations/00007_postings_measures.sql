-- The postings view, one row per posting of ledger.Event.Postings (the one definition
-- of what an event does; docs/design.md, "The kernel"): each line an event touches, the
-- flow (kind), the measure it moves (plan, disbursed, advance_outstanding, carried_over)
-- with its signed change (measure_delta), and the change of the line's available amount
-- (delta, plan − disbursed). sum(delta) by line, unit or project is the available
-- amount, as before; advances and carry-overs add rows whose delta is 0.
-- TestPostingsViewMatchesGo holds this view equal to the Go postings for every event
-- type, on the demo and on random histories.

-- +goose Up
CREATE OR REPLACE VIEW postings AS
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
       split_part(p.line, ':', 5)          AS unit,
       p.measure,
       p.measure_delta
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
           END AS delta,
           CASE e.type
               WHEN 'funds.disbursed'       THEN 'disbursed'
               WHEN 'disbursement.reversed' THEN 'disbursed'
               WHEN 'funds.carried_over'    THEN 'carried_over'
               WHEN 'advance.settled'       THEN 'advance_outstanding'
               ELSE 'plan'
           END AS measure,
           CASE e.type
               WHEN 'funds.allocated'       THEN e.amount
               WHEN 'funds.transferred'     THEN -e.amount
               WHEN 'funds.cancelled'       THEN -e.amount
               WHEN 'funds.disbursed'       THEN e.amount
               WHEN 'disbursement.reversed' THEN -e.amount
               WHEN 'funds.carried_over'    THEN e.amount
               WHEN 'advance.settled'       THEN -e.amount
           END AS measure_delta
    UNION ALL
    SELECT e.counter_line, 'transfer_in', e.amount, 'plan', e.amount
    WHERE e.type = 'funds.transferred'
    UNION ALL
    SELECT e.line, 'advance', 0, 'advance_outstanding', e.amount
    WHERE e.type = 'funds.disbursed' AND e.data ->> 'kind' = 'advance'
    UNION ALL
    SELECT e.line, 'advance_reversal', 0, 'advance_outstanding', -(e.data ->> 'advance_reversed')::bigint
    WHERE e.type = 'disbursement.reversed' AND (e.data ->> 'advance_reversed')::bigint > 0
) p
WHERE e.type IN ('funds.allocated', 'funds.transferred', 'funds.cancelled', 'funds.disbursed',
                 'disbursement.reversed', 'funds.carried_over', 'advance.settled');

-- +goose Down
DROP VIEW postings;
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
GRANT SELECT ON postings TO ledger_app;
