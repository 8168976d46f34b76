package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
)

// Check is one readiness condition: nil when ready. It gets a context
// bounded by Options.CheckTimeout and must not block past it.
type Check func(ctx context.Context) error

// checks holds the named readiness checks; parts add theirs while wiring.
type checks struct {
	mu sync.RWMutex
	m  map[string]Check
}

// AddCheck makes /readyz depend on c, reported under name. A second check
// of one name replaces the first.
func (s *Server) AddCheck(name string, c Check) {
	s.checks.mu.Lock()
	defer s.checks.mu.Unlock()
	if s.checks.m == nil {
		s.checks.m = map[string]Check{}
	}
	s.checks.m[name] = c
}

// run calls every check, all at once so one slow check does not add to
// another's time, and returns the failures by name.
func (c *checks) run(ctx context.Context) map[string]string {
	c.mu.RLock()
	all := make(map[string]Check, len(c.m))
	for k, v := range c.m {
		all[k] = v
	}
	c.mu.RUnlock()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		failures = map[string]string{}
	)
	for name, check := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(ctx); err != nil {
				mu.Lock()
				failures[name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failures
}

// healthz says the process is alive and serving; nothing else.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status   string            `json:"status"`
	Checks   []string          `json:"checks"`
	Failures map[string]string `json:"failures,omitempty"`
}

// readyz runs every check: 200 when all pass, 503 naming each failure.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.CheckTimeout)
	defer cancel()
	failures := s.checks.run(ctx)
	s.checks.mu.RLock()
	names := make([]string, 0, len(s.checks.m))
	for n := range s.checks.m {
		names = append(names, n)
	}
	s.checks.mu.RUnlock()
	sort.Strings(names)
	if len(failures) > 0 {
		// Logged at debug: a probe fails every few seconds while Redis is down.
		s.opt.Logger.Debug().Interface("failures", failures).Msg("not ready")
		writeJSON(w, http.StatusServiceUnavailable, readiness{Status: "not ready", Checks: names, Failures: failures})
		return
	}
	writeJSON(w, http.StatusOK, readiness{Status: "ok", Checks: names})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
