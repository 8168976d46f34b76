package webhook

import (
	"sync"
	"time"
)

// DefaultLogEvery is how often at most a receiver logs a refusal of one
// reason, when Options.LogEvery is 0.
const DefaultLogEvery = 10 * time.Second

// maxLogReasons bounds the reasons a receiver keeps apart; refusals of
// further reasons share one window. Connectors name a handful.
const maxLogReasons = 64

// logLimiter keeps refusals from flooding the log: anyone on the internet
// can send a bad delivery, a thousand a second. The first refusal of a
// reason is logged, then at most one a window (every) per reason, which
// says how many were left out since the last; the metrics still count
// every one.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]*logWindow
}

type logWindow struct {
	at         time.Time // of the last line logged
	suppressed int       // refusals not logged since
}

func newLogLimiter(every time.Duration) *logLimiter {
	if every <= 0 {
		every = DefaultLogEvery
	}
	return &logLimiter{every: every, last: map[string]*logWindow{}}
}

// allow reports whether a refusal for reason at now is logged, and if it
// is, how many of that reason were not since the last line.
func (l *logLimiter) allow(reason string, now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.last[reason]
	if w == nil && len(l.last) >= maxLogReasons {
		reason = "other"
		w = l.last[reason]
	}
	if w == nil {
		l.last[reason] = &logWindow{at: now}
		return 0, true
	}
	// A clock that went back opens a new window too, rather than none for long.
	if now.Sub(w.at) >= l.every || now.Before(w.at) {
		n := w.suppressed
		w.at, w.suppressed = now, 0
		return n, true
	}
	w.suppressed++
	return 0, false
}
