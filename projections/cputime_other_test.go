//go:build !linux

package projections

import "time"

// threadCPU is not measured outside Linux; the CPU-time metrics then read zero.
func threadCPU() time.Duration { return 0 }
