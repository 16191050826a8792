package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/codebuddy-dev/codebuddy/broker"
	"github.com/codebuddy-dev/codebuddy/collab"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/runs"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

var update = flag.Bool("update", false, "rewrite web/src/api/openapi.json from the server's routes")

// The web client's typed API is checked against a snapshot of the OpenAPI
// document (web/src/api/openapi.test.ts); this keeps that snapshot equal to what
// the server really serves. Run with -update after changing the API.
func TestOpenAPISnapshotIsCurrent(t *testing.T) {
	cfg, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	ws := workspace.New(workspace.Options{})
	hub := collab.New(collab.Options{Workspace: ws, Broker: broker.NewMemory(), Node: "test"})
	defer hub.Close()
	srv := routes(httpapi.Options{Config: cfg, Workspace: ws, Runs: runs.New(runs.Options{}), Version: "dev"}, hub)

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /api/openapi.json = %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	var live any
	if err := json.Unmarshal(body, &live); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "web", "src", "api", "openapi.json")
	if *update {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		if err := enc.Encode(live); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var snap any
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !reflect.DeepEqual(live, snap) {
		t.Fatalf("%s is stale: run `go test ./cmd/codebuddy -run TestOpenAPISnapshotIsCurrent -update` and commit it", path)
	}
}
