package api

import (
	"bufio"
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/projections"
	"gopkg.in/yaml.v3"
)

// specOperations reads "METHOD /path" for every operation under paths: in openapi.yaml.
// The file is hand-written with paths at two spaces of indent and methods at four, which
// this reader relies on instead of a YAML library (go.mod has none).
func specOperations(t *testing.T) []string {
	t.Helper()
	var ops []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(bytes.NewReader(openAPISpec))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && line != "" && line[0] != ' ' && line[0] != '#':
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inPaths && len(line) > 4 && line[:4] == "    " && line[4] != ' ':
			m := strings.TrimSuffix(strings.TrimSpace(line), ":")
			switch m {
			case "get", "post", "put", "patch", "delete", "head", "options":
				ops = append(ops, strings.ToUpper(m)+" "+path)
			case "parameters", "summary", "description", "servers":
			default:
				t.Errorf("openapi.yaml: unexpected key %q under %s", m, path)
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("openapi.yaml: no operations found under paths:")
	}
	slices.Sort(ops)
	return ops
}

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

func TestOpenAPICoversRoutes(t *testing.T) {
	s := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}})
	var routes []string
	for _, r := range s.echo.Routes() {
		routes = append(routes, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(routes)
	spec := specOperations(t)
	t.Logf("%d routes, %d operations in openapi.yaml", len(routes), len(spec))
	for _, r := range routes {
		if _, found := slices.BinarySearch(spec, r); !found {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for _, op := range spec {
		if _, found := slices.BinarySearch(routes, op); !found {
			t.Errorf("openapi.yaml describes %s, which the server does not serve", op)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	hs := newHarness(t)
	rec := hs.do(http.MethodGet, "/openapi.yaml", "")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), openAPISpec) || !strings.HasPrefix(rec.Body.String(), "openapi: 3.1") {
		t.Errorf("GET /openapi.yaml: %d %.40s", rec.Code, rec.Body)
	}
}

// TestOpenAPIIsYAML parses the served spec with a real YAML parser: the route test reads
// it line by line and would not notice, for instance, an unquoted "a: b" in a summary.
func TestOpenAPIIsYAML(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.yaml is not valid YAML: %v", err)
	}
	if doc["openapi"] == nil || doc["paths"] == nil {
		t.Fatalf("openapi.yaml lacks openapi or paths")
	}
}
