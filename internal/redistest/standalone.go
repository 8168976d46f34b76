package redistest

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// StartPersistent starts one standalone redis-server on a port in
// 7200-7299 with the persistence docs/redis.md asks of production
// (appendonly yes, appendfsync everysec, no RDB snapshots) in a directory
// of its own: killed (Kill) or stopped (Stop) and started again
// (Restart), it reloads what its AOF holds. It is killed, and its files
// removed, when the test ends; the test skips only when redis-server is
// not installed.
func StartPersistent(t testing.TB) *Server {
	t.Helper()
	NeedServer(t)
	dir := t.TempDir()
	var s *Server
	withRetries(t, func(g *group) error {
		base, err := pickBase(persistentPorts, 1, false)
		if err != nil {
			return err
		}
		args := append(baseArgs(base), "--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir)
		s, err = g.start(dir, base, args...)
		return err
	})
	return s
}

// Stop shuts the server down as an operator's restart does (SIGTERM:
// Redis fsyncs its AOF and exits) and waits up to bound for it to exit.
func (s *Server) Stop(bound time.Duration) error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(bound):
		return fmt.Errorf("redis-server on %s did not exit within %s of SIGTERM", s.Addr, bound)
	}
}
