// Package ledger is the domain of the budget disbursement ledger: money in whole đồng,
// business dates, budget lines, the catalog of programs, projects, administrative units
// and capital sources, the commands officers give, the events the ledger records, the
// rules a command must pass, the hash chain, and the sequencer — the single writer that
// validates, orders and commits every event. It imports only the standard library and
// uuid; adapters (pgstore, natsbus, api) depend on it, never the other way.
//
// Invariants: positions are gapless from 1 and commit order is position order; every
// line's available balance is ≥ 0 after every event; an event, once committed, never
// changes; hash_n = SHA-256(hash_{n-1} || canonical(event_n)).
//
// Glossary (one meaning each; Vietnamese in brackets):
//   - allocation [giao vốn, giao dự toán]: new capital assigned into a line by a decision.
//   - transfer: capital moved between lines; a sub-allocation [phân bổ] passes it to a unit
//     below, a re-allocation [điều chỉnh, điều chuyển] moves it between lines of one level.
//   - carry-over [chuyển nguồn]: unspent capital of plan year Y approved for use in a later
//     year; it stays on its line and keeps plan year Y.
//   - cancellation [hủy dự toán, thu hồi]: capital withdrawn from a line.
//   - disbursement [giải ngân]: money paid out through the State Treasury, as an advance
//     [tạm ứng] or a payment [thanh toán], with a treasury voucher [chứng từ].
//   - settlement [thu hồi tạm ứng]: an advance turned into a final payment.
//   - reversal [giảm chi, nộp trả]: a disbursement corrected, in full or in part.
//   - line: the account — program, plan year, capital source, project, unit.
//   - plan year [năm kế hoạch vốn]: the year capital was assigned for; it never changes.
//   - plan: allocated + transferred in − transferred out − cancelled.
//   - available: plan − (disbursed − reversed).
//   - disbursement rate [tỷ lệ giải ngân]: net disbursed / plan, half-up to 0.01 %.
package ledger
