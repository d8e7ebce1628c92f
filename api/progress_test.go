package api

import (
	"net/http"
	"testing"
)

// TestProgressWithoutProjection: a server built without a projection answers the progress
// routes 503, after validating nothing it cannot serve.
func TestProgressWithoutProjection(t *testing.T) {
	hs := newHarness(t)
	for _, path := range []string{"/v1/progress", "/v1/progress.csv", "/v1/progress.xlsx", "/v1/progress/counterpart"} {
		checkProblem(t, hs.do(http.MethodGet, path, ""), http.StatusServiceUnavailable, "unavailable", "")
	}
}
