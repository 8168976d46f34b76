package e2e

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	gosync "sync"
	"testing"

	"github.com/shelfsync/shelfsync/internal/proctest"
)

// parallelTests is how many of the package's tests run at once when
// -test.parallel is not given. They wait far more than they compute
// (order windows, job periods, failovers, timers; a whole run takes about
// a quarter of one core on average), so more of them than GOMAXPROCS (go
// test's default, two on CI's machine) may share it; each has its own key
// prefix, redis-server processes and listeners (doc.go).
const parallelTests = 4

// TestMain sets the package's default parallelism (parallelTests, or
// GOMAXPROCS if more) unless -test.parallel was given, runs the tests and
// removes the daemon binary buildBinary built, if any.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(max(parallelTests, runtime.GOMAXPROCS(0))))
	}
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// binary is cmd/shelfsync (with the simulator), built the first time a
// test asks for it (buildBinary) and shared by every later one.
var binary struct {
	once      gosync.Once
	dir, path string
	err       error
}

// buildBinary is the daemon binary, built once per run of the package (a
// go build per test cost seconds of linking each).
func buildBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "shelfsync-e2e-"); binary.err == nil {
			binary.path, binary.err = proctest.Build(moduleRoot, binary.dir)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}
