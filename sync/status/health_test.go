package status

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type step struct {
	advance time.Duration
	job     string
	err     error
}

// TestHealth: a channel is not ready until its credentials were accepted
// once (the access check's error said); a poll or push failing longer
// than the bound makes it not ready again, its next success ready; a
// reconcile's failure, a failure within the bound and a bound of 0 never.
func TestHealth(t *testing.T) {
	refused := errors.New("HTTP 401: token refused")
	down := errors.New("HTTP 503")
	const bound = 5 * time.Minute
	tests := []struct {
		name  string
		bound time.Duration
		steps []step
		want  string // "" ready, else a part of the error
	}{
		{"never checked", bound, nil, "credentials not accepted since start (no access check"},
		{"access refused", bound, []step{{0, JobAccess, refused}}, "credentials not accepted since start: HTTP 401: token refused"},
		{"access accepted", bound, []step{{0, JobAccess, refused}, {time.Second, JobAccess, nil}}, ""},
		{"a push proves the credentials", bound, []step{{0, "push", nil}}, ""},
		{"a failing push before any success", bound, []step{{0, "push", down}}, "credentials not accepted"},
		{"push failing within the bound", bound, []step{{0, JobAccess, nil}, {0, "push", down}, {4 * time.Minute, "push", down}}, ""},
		{"push failing beyond the bound", bound, []step{{0, JobAccess, nil}, {0, "push", down}, {6 * time.Minute, "push", down}},
			"push failing for 6m0s (over 5m0s): HTTP 503"},
		{"the bound counts from the first failure", bound, []step{{0, JobAccess, nil}, {0, "poll", down}, {3 * time.Minute, "poll", down}, {3 * time.Minute, "", nil}},
			"poll failing for 6m0s"},
		{"recovered", bound, []step{{0, JobAccess, nil}, {0, "poll", down}, {6 * time.Minute, "poll", nil}}, ""},
		{"recovered, failing again anew", bound, []step{{0, JobAccess, nil}, {0, "poll", down}, {6 * time.Minute, "poll", nil}, {0, "poll", down}, {time.Minute, "", nil}}, ""},
		{"a reconcile failing long", bound, []step{{0, JobAccess, nil}, {0, "reconcile", down}, {time.Hour, "reconcile", down}}, ""},
		{"bound 0", 0, []step{{0, JobAccess, nil}, {0, "push", down}, {time.Hour, "push", down}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			h := NewHealth(tt.bound, func() time.Time { return clock }, "shop", "other")
			for _, s := range tt.steps {
				clock = clock.Add(s.advance)
				if s.job != "" {
					h.Observe("shop", s.job, s.err)
				}
			}
			err := h.Check("shop")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("not ready: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check = %v, want an error with %q", err, tt.want)
			}
			if err := h.Check("other"); err == nil {
				t.Error("an untouched channel is ready")
			}
		})
	}
	var nilHealth *Health
	nilHealth.Observe("shop", "push", nil) // a board without health
}
