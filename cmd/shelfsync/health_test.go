package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHealth: `shelfsync health` exits 0 on a 200 of the path it probes
// and 1 on anything else (a 503, nothing listening), 2 on a bad URL.
func TestHealth(t *testing.T) {
	var readyCode atomic.Int32
	readyCode.Store(http.StatusServiceUnavailable)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(readyCode.Load()))
		w.Write([]byte(`{"status":"not ready","failures":{"channel shop":"never authenticated"}}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := httptest.NewServer(mux)
	closed.Close()

	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"healthz 200", []string{"--url", srv.URL}, 0, ""},
		{"trailing slash", []string{"--url", srv.URL + "/"}, 0, ""},
		{"readyz 503", []string{"--url", srv.URL, "--ready"}, 1, "HTTP 503"},
		{"nothing listens", []string{"--url", closed.URL}, 1, "connection refused"},
		{"bad url", []string{"--url", "127.0.0.1:8080"}, 2, "must be an http(s) URL"},
		{"stray argument", []string{"extra"}, 2, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), append([]string{"health"}, tt.args...), &stdout, &stderr)
			if code != tt.want {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, tt.want, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
	readyCode.Store(http.StatusOK)
	var stdout, stderr bytes.Buffer
	if code := dispatch(context.Background(), []string{"health", "--url", srv.URL, "--ready"}, &stdout, &stderr); code != 0 {
		t.Fatalf("readyz 200: exit %d (%s)", code, stderr.String())
	}
}

// TestHealthInProductionBuild: health.go is compiled into the production
// binary (-tags nosim), which the Docker image's HEALTHCHECK runs.
func TestHealthInProductionBuild(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "nosim", "-f", "{{join .GoFiles \" \"}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, f := range []string{"health.go", "check.go"} {
		if !strings.Contains(" "+string(out), " "+f) {
			t.Errorf("the production build lacks %s: %s", f, out)
		}
	}
}
