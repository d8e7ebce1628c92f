package main

import "time"

// Bounds of the end-to-end tests, so `make test` stays short; `make soak` runs longer.
const (
	concurrentLoadDuration = 10 * time.Second
	killCycles             = 3
	standbyWait            = 2 * time.Second  // how long the standby must keep waiting
	replicaLoad            = 2 * time.Second  // writes while the replica follows
	replicaConverge        = 30 * time.Second // bound on the replica catching up
	pollInterval           = 50 * time.Millisecond
	streamKillAfter        = 700 * time.Millisecond // a moment under load to kill the writer
)
