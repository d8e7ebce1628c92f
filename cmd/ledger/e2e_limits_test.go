package main

import "time"

// Bounds of the end-to-end tests, so `make test` stays short; `make soak` runs longer.
const (
	concurrentLoadDuration = 10 * time.Second
	killCycles             = 3
	standbyWait            = 2 * time.Second // how long the standby must keep waiting
)
