package main

import (
	"encoding/json"
	"testing"
)

func headOf(t *testing.T, base string) int64 {
	t.Helper()
	var h struct{ Position int64 }
	if err := json.Unmarshal([]byte(get(t, base+"/v1/head")), &h); err != nil {
		t.Fatal(err)
	}
	return h.Position
}
