package status

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Health is this process's view of whether each channel works, for
// /readyz: a channel is ready once the channel accepted its credentials
// at least once since the process started (an access check, or any job
// that succeeded), and while neither its order poll nor its push has been
// failing for longer than the bound. Only what this process saw counts:
// a replica that holds no lease judges by its own access check. It is
// fed by the Board (every poll, push and reconcile outcome) and by the
// daemon's access checks (Observe with JobAccess); it does no I/O, so a
// probe costs nothing.
type Health struct {
	mu    sync.Mutex
	now   func() time.Time
	bound time.Duration
	chans map[string]*channelHealth
}

// JobAccess is the job name of an access check (connectors.AccessChecker).
const JobAccess = "access"

// failingJobs are the jobs whose failure, once longer than the bound,
// makes a channel not ready: no sale comes in, no quantity goes out.
// A reconcile's failure does not (it runs hours apart).
var failingJobs = map[string]bool{"poll": true, "push": true}

type channelHealth struct {
	accepted  bool
	accessErr string               // the last access check's error, until one passes
	failing   map[string]time.Time // job → first failure since its last success
	lastErr   map[string]string    // job → that failure's latest error
}

// NewHealth tracks channels with the failing bound (0: failures never make
// a channel not ready; its credentials still must be accepted). now is the
// clock (time.Now when nil).
func NewHealth(bound time.Duration, now func() time.Time, channels ...string) *Health {
	if now == nil {
		now = time.Now
	}
	h := &Health{now: now, bound: bound, chans: map[string]*channelHealth{}}
	for _, c := range channels {
		h.chans[c] = &channelHealth{failing: map[string]time.Time{}, lastErr: map[string]string{}}
	}
	return h
}

// Observe records one outcome of job on channel. A success of any job
// proves the credentials; a failure of poll or push starts (or continues)
// its failing period, which its next success ends. Unknown channels are
// ignored. Safe on a nil *Health.
func (h *Health) Observe(channel, job string, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.chans[channel]
	if !ok {
		return
	}
	if err == nil {
		c.accepted = true
		c.accessErr = ""
		delete(c.failing, job)
		delete(c.lastErr, job)
		return
	}
	if job == JobAccess {
		c.accessErr = err.Error()
		return
	}
	if !failingJobs[job] {
		return
	}
	if _, already := c.failing[job]; !already {
		c.failing[job] = h.now()
	}
	c.lastErr[job] = err.Error()
}

// Check is nil when channel is ready, else why not (no secret: the
// errors are the connectors', which hold none). The caller names the
// channel (/readyz reports it under "channel <name>").
func (h *Health) Check(channel string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.chans[channel]
	if !ok {
		return fmt.Errorf("channel %s is not tracked", channel)
	}
	if !c.accepted {
		if c.accessErr != "" {
			return fmt.Errorf("credentials not accepted since start: %s", c.accessErr)
		}
		return errors.New("credentials not accepted since start (no access check or job has succeeded yet)")
	}
	if h.bound <= 0 {
		return nil
	}
	jobs := make([]string, 0, len(c.failing))
	for job := range c.failing {
		jobs = append(jobs, job)
	}
	sort.Strings(jobs)
	for _, job := range jobs {
		if d := h.now().Sub(c.failing[job]); d > h.bound {
			return fmt.Errorf("%s failing for %s (over %s): %s", job, d.Round(time.Millisecond), h.bound, c.lastErr[job])
		}
	}
	return nil
}
