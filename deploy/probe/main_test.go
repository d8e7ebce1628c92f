package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, `{"error":"starting"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := check(ctx, srv.Client(), srv.URL+"/readyz"); err != nil {
		t.Errorf("2xx: %v", err)
	}
	if err := check(ctx, srv.Client(), srv.URL+"/other"); err == nil {
		t.Error("503: no error")
	}
	url := srv.URL
	srv.Close()
	if err := check(ctx, http.DefaultClient, url+"/readyz"); err == nil {
		t.Error("closed server: no error")
	}
}
