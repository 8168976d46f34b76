package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors/sim"
	"github.com/shelfsync/shelfsync/internal/proctest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// Job periods of the replicas' runs (the fakes' --poll and --reconcile).
const (
	replicaPoll      = 3 * time.Second
	replicaReconcile = 5 * time.Second
)

// TestReplicasOnOneRedis runs three daemon replicas (`shelfsync run`, each
// its own process with its own SHELFSYNC_INSTANCE_ID) against one Redis,
// behind a round-robin balancer that the fakes' webhooks go through, with
// orders at a steady rate. It checks that every channel's push lease has
// exactly one holder and that holder says so; that every replica's intake
// workers handle some of the events; that each channel's poll and
// reconcile run once per period across the replicas, not once per replica;
// then it kills -9 the replica holding the most push leases under load and
// checks that the survivors take those leases over and push (the figures
// are logged; the bound asserted is 3× the 5 s aim), and that the run ends
// converged with every placed order in the ledger exactly as placed and
// `shelfsync stock verify` clean.
func TestReplicasOnOneRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, three replicas, for about a minute")
	}
	t.Parallel()
	rdb, prefix := redistest.New(t)
	runReplicas(t, rdb, redistest.Addr(), prefix, 3)
}

// TestTwoReplicasOnOneRedis is TestReplicasOnOneRedis with two replicas:
// the kill leaves one, which must take over every lease the victim held.
func TestTwoReplicasOnOneRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, two replicas, for about a minute")
	}
	t.Parallel()
	rdb, prefix := redistest.New(t)
	runReplicas(t, rdb, redistest.Addr(), prefix, 2)
}

// replica is one `shelfsync run` process.
type replica struct {
	id, addr string
	p        *proctest.Proc
}

func (r *replica) base() string { return "http://" + r.addr }

func runReplicas(t *testing.T, rdb redis.UniversalClient, addr, prefix string, n int) {
	bin := buildBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "shelfsync.yaml")
	lb := newBalancer(t)
	fakes := proctest.Start(t, bin, "fakes", "--redis", addr, "--key-prefix", prefix, "--listen", lb.addr,
		"--write-config", cfgPath, "--skus", "60", "--rate", env("REPLICAS_RATE", "25"),
		"--duration", env("REPLICAS_DURATION", "22s"), "--latency", "10ms",
		"--poll", replicaPoll.String(), "--reconcile", replicaReconcile.String(),
		"--immediate-cancels", "0.5", "--drop", "0.05", "--seed", "11", "--converge", "240s", "--linger", "60s")
	proctest.WaitFor(t, "the fakes to write the daemon's config", func() bool { _, err := os.Stat(cfgPath); return err == nil }, fakes)
	replicas := startReplicas(t, bin, cfgPath, n, lb)
	proctest.WaitFor(t, "orders to flow", func() bool { return strings.Contains(fakes.Stdout(), "the daemon is ready") }, fakes)
	victim := exerciseReplicas(t, rdb, prefix, lb, replicas)

	proctest.WaitFor(t, "the fakes' convergence check", func() bool { return strings.Contains(fakes.Stdout(), "converged after") }, fakes)
	out := fakes.Stdout()
	t.Logf("fakes:\n%s", out)
	if !strings.Contains(out, "\nconverged after") {
		t.Fatalf("not converged:\n%s", out)
	}
	verify := exec.Command(bin, "stock", "verify", "--redis", addr, "--prefix", prefix)
	if b, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(b), "ok: no inconsistencies") {
		t.Fatalf("stock verify: %v\n%s", err, b)
	}
	_ = fakes.Cmd.Process.Signal(syscall.SIGTERM)
	if code := fakes.Wait(t, time.Minute); code != 0 {
		t.Errorf("fakes exit %d after SIGTERM:\n%s", code, fakes.Stderr())
	}
	stopReplicas(t, replicas, victim)
}

// exerciseReplicas, with orders flowing to the replicas, checks the push
// leases, the intake's sharing and the jobs' periods, then kills the
// replica holding the most push leases and checks the takeover; it
// returns the killed replica.
func exerciseReplicas(t *testing.T, rdb redis.UniversalClient, prefix string, lb *balancer, replicas []*replica) *replica {
	t.Helper()
	channels := sim.Channels()
	proctest.WaitFor(t, fmt.Sprintf("pushes on every channel %v", channels), func() bool {
		var got []string
		for _, r := range replicas {
			got = append(got, acceptedChannels(r.base())...)
		}
		return covers(got, channels)
	}, replicas[0].p)
	checkJobsOncePerPeriod(t, replicas, channels, 12*time.Second)
	checkIntakeShared(t, replicas)
	holders := checkPushLeases(t, rdb, prefix, replicas, channels)
	victim := mostLeases(replicas, holders)
	takeover(t, rdb, prefix, lb, replicas, victim, holders)
	return victim
}

// stopReplicas stops every replica but victim with SIGTERM; each must
// exit 0.
func stopReplicas(t *testing.T, replicas []*replica, victim *replica) {
	t.Helper()
	for _, r := range replicas {
		if r.id == victim.id {
			continue
		}
		_ = r.p.Cmd.Process.Signal(syscall.SIGTERM)
		if code := r.p.Wait(t, time.Minute); code != 0 {
			t.Errorf("%s exit %d after SIGTERM:\n%s", r.id, code, r.p.Stderr())
		}
	}
}

// startReplicas starts n replicas, each on its own address with the
// fakes' config otherwise, and puts them behind the balancer.
func startReplicas(t *testing.T, bin, cfgPath string, n int, lb *balancer) []*replica {
	t.Helper()
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	listen := regexp.MustCompile(`(?m)^(\s+listen:).*$`)
	if len(listen.FindAll(b, -1)) != 1 {
		t.Fatalf("not one http listen in the written config:\n%s", b)
	}
	var out []*replica
	var addrs []string
	for i := range n {
		r := &replica{id: fmt.Sprintf("replica-%d", i+1), addr: proctest.FreeAddr(t)}
		path := filepath.Join(filepath.Dir(cfgPath), r.id+".yaml")
		if err := os.WriteFile(path, listen.ReplaceAll(b, []byte("${1} "+r.addr)), 0o600); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			// Replicas start at different moments, as in a rolling
			// deploy: their schedules tick at different moments.
			time.Sleep(time.Second)
		}
		r.p = proctest.StartEnv(t, []string{lease.InstanceEnv + "=" + r.id}, bin, "run", "--config", path)
		out = append(out, r)
		addrs = append(addrs, r.addr)
	}
	lb.set(addrs)
	return out
}

// checkJobsOncePerPeriod counts each channel's successful poll and
// reconcile runs over every replica during window: a job may run at most
// once per period across the replicas (a run claims its period), so a
// count above window/period (plus the boundary run, with the claim's
// slack) means replicas ran the same period's job twice.
func checkJobsOncePerPeriod(t *testing.T, replicas []*replica, channels []string, window time.Duration) {
	t.Helper()
	before := jobRuns(replicas)
	start := time.Now()
	time.Sleep(window)
	after := jobRuns(replicas)
	elapsed := time.Since(start)
	t.Logf("job runs over every replica at the start of the window %v, at its end %v", before, after)
	for _, ch := range channels {
		for task, period := range map[string]time.Duration{"poll": replicaPoll, "reconcile": replicaReconcile} {
			key := task + ":" + ch
			got := after[key] - before[key]
			most := math.Floor(elapsed.Seconds()/(claimShare*period.Seconds())) + 1
			t.Logf("%s: %v runs over every replica in %s (period %s)", key, got, elapsed.Round(time.Millisecond), period)
			if got < 1 || got > most {
				t.Errorf("%s ran %v times in %s over the replicas, want 1 to %v (once per %s)", key, got, elapsed, most, period)
			}
		}
	}
}

// claimShare is the least share of its period between two runs of a job.
const claimShare = 0.8

// jobRuns sums shelfsync_job_runs_total over the replicas by
// "task:channel" (outcome ok) and "task:channel:outcome" (the others).
func jobRuns(replicas []*replica) map[string]float64 {
	out := map[string]float64{}
	for _, r := range replicas {
		for _, s := range samples(r.base(), "shelfsync_job_runs_total") {
			key := s.labels["task"] + ":" + s.labels["channel"]
			if s.labels["outcome"] != "ok" {
				key += ":" + s.labels["outcome"]
			}
			out[key] += s.value
		}
	}
	return out
}

// checkIntakeShared: every replica's intake workers applied some events.
func checkIntakeShared(t *testing.T, replicas []*replica) {
	t.Helper()
	per := map[string]float64{}
	for _, r := range replicas {
		for _, s := range samples(r.base(), "shelfsync_events_applied_total") {
			per[r.id] += s.value
		}
	}
	t.Logf("events applied per replica: %v", per)
	for _, r := range replicas {
		if per[r.id] == 0 {
			t.Errorf("%s applied no event: %v", r.id, per)
		}
	}
}

// checkPushLeases: each channel's push lease is held in Redis by one of the
// replicas, and that replica alone exports shelfsync_lease_held 1 for it.
// It returns the holder's id by channel.
func checkPushLeases(t *testing.T, rdb redis.UniversalClient, prefix string, replicas []*replica, channels []string) map[string]string {
	t.Helper()
	holders := pushHolders(t, rdb, prefix, replicas, channels)
	for _, ch := range channels {
		var says []string
		for _, r := range replicas {
			for _, s := range samples(r.base(), "shelfsync_lease_held") {
				if s.labels["lease"] == "push:"+ch && s.value == 1 {
					says = append(says, r.id)
				}
			}
		}
		if holders[ch] == "" || !slices.Equal(says, []string{holders[ch]}) {
			t.Errorf("push lease of %s: held in Redis by %q, replicas saying they hold it %v", ch, holders[ch], says)
		}
	}
	t.Logf("push lease holders: %v", holders)
	return holders
}

// pushHolders reads each channel's push lease holder from Redis, as a
// replica id ("" when free or held by no replica).
func pushHolders(t *testing.T, rdb redis.UniversalClient, prefix string, replicas []*replica, channels []string) map[string]string {
	t.Helper()
	m := lease.NewManager(rdb, prefix, "replicas-test")
	out := map[string]string{}
	for _, ch := range channels {
		h, err := m.HolderOfKey(context.Background(), outbox.New(rdb, prefix, ch).LeaseKey())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range replicas {
			if strings.HasPrefix(h, r.id+":") {
				out[ch] = r.id
			}
		}
	}
	return out
}

// mostLeases is the replica holding the most push leases.
func mostLeases(replicas []*replica, holders map[string]string) *replica {
	count := map[string]int{}
	for _, id := range holders {
		count[id]++
	}
	best := replicas[0]
	for _, r := range replicas {
		if count[r.id] > count[best.id] {
			best = r
		}
	}
	return best
}

// takeover kills victim with SIGKILL under load and waits until, for
// every channel whose push lease it held, a survivor holds the lease and
// has pushed to the channel; it logs both times from the kill and fails
// past 3× the 5 s aim.
func takeover(t *testing.T, rdb redis.UniversalClient, prefix string, lb *balancer, replicas []*replica, victim *replica, holders map[string]string) {
	t.Helper()
	var theirs []string
	for ch, id := range holders {
		if id == victim.id {
			theirs = append(theirs, ch)
		}
	}
	slices.Sort(theirs)
	var survivors []*replica
	for _, r := range replicas {
		if r.id != victim.id {
			survivors = append(survivors, r)
		}
	}
	pushed := func() map[string]float64 {
		out := map[string]float64{}
		for _, r := range survivors {
			for _, s := range samples(r.base(), "shelfsync_push_items_total") {
				if s.labels["outcome"] == "accepted" {
					out[s.labels["channel"]] += s.value
				}
			}
		}
		return out
	}
	before := pushed()
	if err := victim.p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	lb.drop(victim.addr)
	leaseAt, pushAt := map[string]time.Duration{}, map[string]time.Duration{}
	proctest.WaitFor(t, fmt.Sprintf("survivors to take %s's push leases %v and push", victim.id, theirs), func() bool {
		now := time.Since(killed)
		hs := pushHolders(t, rdb, prefix, survivors, theirs)
		p := pushed()
		for _, ch := range theirs {
			if _, ok := leaseAt[ch]; !ok && hs[ch] != "" {
				leaseAt[ch] = now
			}
			if _, ok := pushAt[ch]; !ok && p[ch] > before[ch] {
				pushAt[ch] = now
			}
		}
		return len(leaseAt) == len(theirs) && len(pushAt) == len(theirs)
	}, survivors[0].p)
	t.Logf("kill -9 of %s (push leases of %v): lease taken by a survivor after %v; first accepted push by a survivor after %v",
		victim.id, theirs, leaseAt, pushAt)
	const bound = 3 * 5 * time.Second
	for _, ch := range theirs {
		if leaseAt[ch] > bound || pushAt[ch] > bound {
			t.Errorf("%s: lease taken after %s, first push after %s, want both within %s", ch, leaseAt[ch], pushAt[ch], bound)
		}
	}
}

// sample is one series of a scrape.
type sample struct {
	labels map[string]string
	value  float64
}

var labelRE = regexp.MustCompile(`([a-zA-Z_]+)="([^"]*)"`)

// samples reads every series of the metric name from base's /metrics
// (none when it does not answer).
func samples(base, name string) []sample {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		s := sample{labels: map[string]string{}, value: v}
		for _, m := range labelRE.FindAllStringSubmatch(line[:end], -1) {
			s.labels[m[1]] = m[2]
		}
		out = append(out, s)
	}
	return out
}

// balancer spreads requests round-robin over the replicas, as a load
// balancer in front of them does, and tries the next one when a replica
// does not answer (a request is sent again whole: webhooks are idempotent
// by delivery id).
type balancer struct {
	addr   string
	client *http.Client
	mu     gosync.Mutex
	backs  []string
	next   int
}

func newBalancer(t *testing.T) *balancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{addr: l.Addr().String(), client: &http.Client{Timeout: 30 * time.Second}}
	srv := &http.Server{Handler: b}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

func (b *balancer) set(addrs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backs = slices.Clone(addrs)
}

// drop takes addr out, as a balancer's health check does.
func (b *balancer) drop(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backs = slices.DeleteFunc(b.backs, func(a string) bool { return a == addr })
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	backs, first := slices.Clone(b.backs), b.next
	b.next++
	b.mu.Unlock()
	for i := range backs {
		target := "http://" + backs[(first+i)%len(backs)] + r.URL.RequestURI()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			continue // down: the next one
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}
