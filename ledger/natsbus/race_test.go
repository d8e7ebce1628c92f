//go:build race

package natsbus_test

// raceEnabled shrinks the largest tests: the race detector slows them several times.
const raceEnabled = true
