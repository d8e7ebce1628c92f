// Package demo is the sample scenario of docs/domain.md §7 as a deterministic list of ledger
// commands: the catalog (program GNBV, its project tree, the capital sources and the
// administrative units of Bắc Kạn and Bắc Giang), then case C1 (Bắc Kạn, plan years
// 2022–2024, reported as of 31/05/2024), then case C2 (Lạng Giang district, 2022 and 2023),
// then case C3 (the 2025 reorganisation: plan-year-2025 capital of Pác Nặm and Xuân La
// handed over to new Thái Nguyên and new Nghiên Loan; c3.go). C1 and C2 come first and
// unchanged, so their figures and the golden reports of them (StepsBeforeC3) stay the same.
//
// The steps go through the normal command path (Validate, then the sequencer), so the
// demo ledger obeys every rule a real one does: each disbursement carries its own
// treasury voucher, no line ever goes below zero, and some requests are refused on purpose
// (121,000,000 đồng from Xuân Hương's 120,000,000 line; in C3 a payment on a closed unit's
// line and three handovers that break the rules).
//
// Every [pub] and [filled] figure of docs/domain.md §7 comes out exactly; demo_test.go folds
// the steps and checks them. Decision and voucher numbers, payees, dates and the spread of
// the [filled] figures over lines are invented for the demo; the comments next to each
// table say which choice was made and why.
//
// The scenario also holds events the published reports must not count: Bắc Kạn
// disbursements dated in June 2024 (after the 31/05/2024 report date), so that an as-of
// query has something to exclude.
package demo
