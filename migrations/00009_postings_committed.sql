-- Contracts commit capital of a line (docs/domain.md §4 rule 10): contract.signed posts
-- its value, contract.amended the change from its previous value, both on the measure
-- committed (kinds commitment and commitment_release), with no change of available
-- (delta 0). advance_limit.set makes no posting. TestPostingsViewMatchesGo holds this
-- view equal to ledger.Event.Postings.

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
    WHERE e.type NOT IN ('contract.signed', 'contract.amended')
    UNION ALL
    SELECT e.counter_line, 'transfer_in', e.amount, 'plan', e.amount
    WHERE e.type = 'funds.transferred'
    UNION ALL
    SELECT e.line, 'advance', 0, 'advance_outstanding', e.amount
    WHERE e.type = 'funds.disbursed' AND e.data ->> 'kind' = 'advance'
    UNION ALL
    SELECT e.line, 'advance_reversal', 0, 'advance_outstanding', -(e.data ->> 'advance_reversed')::bigint
    WHERE e.type = 'disbursement.reversed' AND (e.data ->> 'advance_reversed')::bigint > 0
    UNION ALL
    SELECT e.line, 'commitment', 0, 'committed', e.amount
    WHERE e.type = 'contract.signed'
    UNION ALL
    SELECT e.line,
           CASE WHEN e.amount > (e.data ->> 'previous_value')::bigint THEN 'commitment' ELSE 'commitment_release' END,
           0, 'committed', e.amount - (e.data ->> 'previous_value')::bigint
    WHERE e.type = 'contract.amended'
) p
WHERE e.type IN ('funds.allocated', 'funds.transferred', 'funds.cancelled', 'funds.disbursed',
                 'disbursement.reversed', 'funds.carried_over', 'advance.settled')
   OR e.type IN ('contract.signed', 'contract.amended');


-- +goose Down
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

