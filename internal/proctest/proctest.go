// Package proctest runs the daemon binary (or any program) as a child
// process of a test, as production runs it: built once with Build, started
// with Start, its output kept, killed (SIGKILL) or stopped (SIGTERM) by the
// test, and killed when the test ends if it still runs. The end-to-end and
// chaos suites share it (sync/e2e, sync/chaos).
package proctest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds the module's cmd/shelfsync into dir and returns its path;
// root is the module's root, relative to the caller's working directory.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "shelfsync")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/shelfsync")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, b)
	}
	return bin, nil
}

// BuildT is Build into the test's temporary directory; it fails the test
// when the build fails.
func BuildT(t testing.TB, root string) string {
	t.Helper()
	bin, err := Build(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// FreeAddr is a loopback address nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Proc is a child process with its output kept.
type Proc struct {
	Cmd      *exec.Cmd
	mu       sync.Mutex
	out, err bytes.Buffer
	done     chan struct{}
	code     int
}

// tailBytes is how much of the end of stderr Stderr shows.
const tailBytes = 6000

// Stdout is everything the process wrote to its standard output so far.
func (p *Proc) Stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

// Stderr is the end of what the process wrote to its standard error so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Tail(p.err.String(), tailBytes)
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited says whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Code is the exit code: valid once Done is closed (-1: killed by a
// signal, or the wait failed).
func (p *Proc) Code() int { <-p.done; return p.code }

// Kill9 kills the process with SIGKILL and waits until it is gone.
func (p *Proc) Kill9() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Start runs bin with args; it is killed when the test ends.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	return StartEnv(t, nil, bin, args...)
}

// StartEnv is Start with extra environment variables (NAME=value).
func StartEnv(t testing.TB, env []string, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	if env != nil {
		p.Cmd.Env = append(os.Environ(), env...)
	}
	p.Cmd.Stdout = lockedWriter{&p.mu, &p.out}
	p.Cmd.Stderr = lockedWriter{&p.mu, &p.err}
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		err := p.Cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
	}()
	t.Cleanup(func() {
		if !p.Exited() {
			_ = p.Cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Wait waits for the process to exit and returns its exit code; it fails
// the test if that takes longer than bound (a hang guard).
func (p *Proc) Wait(t testing.TB, bound time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(bound):
		t.Fatalf("%s did not end within %s:\n%s\n%s", p.name(), bound, p.Stdout(), p.Stderr())
		return -1
	}
}

// Stop sends SIGTERM and waits (bound) for the exit code.
func (p *Proc) Stop(t testing.TB, bound time.Duration) int {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(t, bound)
}

func (p *Proc) name() string {
	if len(p.Cmd.Args) > 1 {
		return p.Cmd.Args[1]
	}
	return p.Cmd.Path
}

// WaitFor polls cond until it holds; a hang guard of three minutes, not a
// timing assertion. It fails at once if watched ends first.
func WaitFor(t testing.TB, what string, cond func() bool, watched *Proc) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if watched.Exited() {
			t.Fatalf("waiting for %s: %s exited %d:\n%s\n%s", what, watched.name(), watched.code, watched.Stdout(), watched.Stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s:\n%s\n%s", what, watched.Stdout(), watched.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tail is the last n bytes of s, marked as cut when it was.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
