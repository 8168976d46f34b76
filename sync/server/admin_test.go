package server

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
)

func newLayoutServer(t *testing.T, adminListen string) *Server {
	t.Helper()
	h := config.Default().HTTP
	h.Listen = "127.0.0.1:0"
	h.AdminListen = adminListen
	s, err := New(Options{HTTP: h, Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.Mount("POST /webhooks/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "webhook "+r.PathValue("channel"))
	}))
	s.MountAdmin("/api/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin") }))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	return s
}

func status(t *testing.T, method, url string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestListenerLayouts: without http.admin_listen one listener serves
// everything, as before; with it, the public listener serves only the
// webhooks and the admin listener the admin API, health, readiness and
// metrics (and no webhook). Both drain on shutdown.
func TestListenerLayouts(t *testing.T) {
	routes := []struct{ method, path string }{
		{"POST", "/webhooks/shop"}, {"GET", "/api/v1/stock/x"}, {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"},
	}
	tests := []struct {
		name        string
		adminListen string
		public      []int // status per route on the public listener
		admin       []int // on the admin listener (the webhook route asked with GET: 405 where it is mounted)
	}{
		{"one listener", "", []int{200, 200, 200, 200, 200}, []int{405, 200, 200, 200, 200}},
		{"admin listener", "127.0.0.1:0", []int{200, 404, 404, 404, 404}, []int{404, 200, 200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLayoutServer(t, tt.adminListen)
			stop := serve(t, s)
			pub, adm := "http://"+s.Addr().String(), "http://"+s.AdminAddr().String()
			if (tt.adminListen == "") != (pub == adm) {
				t.Fatalf("public %s, admin %s", pub, adm)
			}
			for i, r := range routes {
				if got := status(t, r.method, pub+r.path); got != tt.public[i] {
					t.Errorf("public %s %s: %d, want %d", r.method, r.path, got, tt.public[i])
				}
				method := r.method
				if r.path == "/webhooks/shop" {
					method = "GET" // what a probe of the admin port would send
				}
				if got := status(t, method, adm+r.path); got != tt.admin[i] {
					t.Errorf("admin %s %s: %d, want %d", method, r.path, got, tt.admin[i])
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			for _, base := range []string{pub, adm} {
				if _, err := http.Get(base + "/healthz"); err == nil {
					t.Errorf("%s still answers after shutdown", base)
				}
			}
		})
	}
}

// TestAdminListenInUse: a taken admin address fails Listen, naming the
// admin listener, and frees the public port it had bound.
func TestAdminListenInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	h := config.Default().HTTP
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	h.Listen = free.Addr().String()
	free.Close()
	h.AdminListen = taken.Addr().String()
	s, err := New(Options{HTTP: h, Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err == nil || !strings.Contains(err.Error(), "http admin listen") {
		t.Fatalf("Listen: %v, want an admin listen error", err)
	}
	again, err := net.Listen("tcp", h.Listen)
	if err != nil {
		t.Fatalf("the public port stays bound after the failure: %v", err)
	}
	again.Close()
}
