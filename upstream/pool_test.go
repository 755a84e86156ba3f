package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backworks/bw/api"
)

// TestMain fails the run if any health checker outlives its pool.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if stacks := watchers(time.Second); stacks != "" {
			fmt.Fprintf(os.Stderr, "health checkers still running after all tests:\n%s\n", stacks)
			code = 1
		}
	}
	os.Exit(code)
}

// watchers waits up to d for every health checker goroutine to end and
// returns the stacks of those still running.
func watchers(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var found []string
		for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
			if bytes.Contains(g, []byte("upstream.(*Pool).watch")) {
				found = append(found, string(g))
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return strings.Join(found, "\n\n")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// backend is an httptest server on 127.0.0.1 whose /health answers 503
// while down is set; it counts the probes it answered.
type backend struct {
	*httptest.Server
	down       atomic.Bool
	okProbes   atomic.Int64
	failProbes atomic.Int64
	lastProbe  atomic.Value // *http.Request
}

func newTestServer(t *testing.T) *backend {
	t.Helper()
	s := &backend{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			return
		}
		s.lastProbe.Store(r)
		if s.down.Load() {
			s.failProbes.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		s.okProbes.Add(1)
	}))
	t.Cleanup(s.Close)
	return s
}

// fastCheck probes every 20ms with the default thresholds (2 up, 3 down).
func fastCheck() *api.HealthCheck {
	return &api.HealthCheck{Path: "/health", Interval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond}
}

// targets returns targets named a, b, c... for the servers, with weights
// if given.
func targets(servers []*backend, check *api.HealthCheck, weights ...int) []*api.Target {
	var ts []*api.Target
	for i, s := range servers {
		t := &api.Target{Name: string(rune('a' + i)), URL: s.URL, HealthCheck: check}
		if i < len(weights) {
			t.Weight = weights[i]
		}
		ts = append(ts, t)
	}
	return ts
}

func servers(t *testing.T, n int) []*backend {
	var ss []*backend
	for range n {
		ss = append(ss, newTestServer(t))
	}
	return ss
}

func newPool(t *testing.T, ts []*api.Target, alg string, opts Options) *Pool {
	t.Helper()
	p, err := NewPool(ts, alg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func pick(t *testing.T, p *Pool, key string) string {
	t.Helper()
	b, done, err := p.Pick(key)
	if err != nil {
		t.Fatalf("Pick(%q): %v", key, err)
	}
	done()
	return b.Name()
}

func sequence(t *testing.T, p *Pool, n int) string {
	var names []string
	for range n {
		names = append(names, pick(t, p, ""))
	}
	return strings.Join(names, " ")
}

// markDown takes b down through passive failures.
func markDown(p *Pool, name string) {
	for _, b := range p.Backends() {
		if b.Name() == name {
			for range defaultUnhealthyThreshold {
				p.MarkFailure(b)
			}
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRoundRobin_Sequence(t *testing.T) {
	p := newPool(t, targets(servers(t, 3), nil), "", Options{})
	if got, want := sequence(t, p, 7), "a b c a b c a"; got != want {
		t.Fatalf("picks = %s, want %s", got, want)
	}
	if p.Algorithm() != RoundRobin {
		t.Fatalf("Algorithm() = %s, want round_robin", p.Algorithm())
	}
}

func TestWeighted_Sequence(t *testing.T) {
	p := newPool(t, targets(servers(t, 2), nil, 3, 1), "weighted", Options{})
	if got, want := sequence(t, p, 8), "a a b a a a b a"; got != want {
		t.Fatalf("picks = %s, want %s", got, want)
	}
	p = newPool(t, targets(servers(t, 3), nil, 5, 1, 1), "Weighted", Options{})
	if got, want := sequence(t, p, 7), "a a b a c a a"; got != want {
		t.Fatalf("picks with 5:1:1 = %s, want %s (smooth: no run of five)", got, want)
	}
}

func TestIPHash_Stable(t *testing.T) {
	p := newPool(t, targets(servers(t, 3), nil), "IPHash", Options{})
	count := map[string]int{}
	for i := range 3000 {
		key := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		first := pick(t, p, key)
		for range 3 {
			if got := pick(t, p, key); got != first {
				t.Fatalf("key %s: picked %s then %s", key, first, got)
			}
		}
		count[first]++
	}
	for _, name := range []string{"a", "b", "c"} {
		if n := count[name]; n < 800 || n > 1200 {
			t.Errorf("%s got %d of 3000 keys, want about 1000", name, n)
		}
	}
	// While b is down its keys move; the others' keys stay.
	before := map[string]string{}
	for i := range 300 {
		key := fmt.Sprint("k", i)
		before[key] = pick(t, p, key)
	}
	markDown(p, "b")
	for key, was := range before {
		got := pick(t, p, key)
		if got == "b" || was != "b" && got != was {
			t.Fatalf("key %s: %s before b went down, %s after", key, was, got)
		}
	}
}

func TestLeastConnections_PicksIdle(t *testing.T) {
	p := newPool(t, targets(servers(t, 3), nil), "LeastConnections", Options{})
	seen := map[string]func(){}
	for range 3 {
		b, done, err := p.Pick("")
		if err != nil {
			t.Fatal(err)
		}
		if seen[b.Name()] != nil {
			t.Fatalf("picked busy %s while another target was idle", b.Name())
		}
		seen[b.Name()] = done
	}
	seen["b"]() // b finishes: it is the only idle one
	for range 3 {
		b, done, err := p.Pick("")
		if err != nil {
			t.Fatal(err)
		}
		if b.Name() != "b" {
			t.Fatalf("picked %s (in flight %d), want idle b", b.Name(), b.InFlight())
		}
		done()
	}
	seen["a"]()
	seen["c"]()
	for _, b := range p.Backends() {
		if b.InFlight() != 0 {
			t.Errorf("%s: %d in flight after every done", b.Name(), b.InFlight())
		}
	}
}

func TestLeastConnections_Weighted(t *testing.T) {
	p := newPool(t, targets(servers(t, 2), nil, 2, 1), "least_connections", Options{})
	var names []string
	for range 6 {
		b, _, err := p.Pick("") // none finishes
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, b.Name())
	}
	if got := strings.Count(strings.Join(names, ""), "a"); got != 4 {
		t.Fatalf("picks = %v, want a 4 times of 6 (weight 2:1)", names)
	}
}

func TestConsistentHash_Remap(t *testing.T) {
	ss := servers(t, 5)
	all := targets(ss, nil)
	const keys = 10000
	mapping := func(p *Pool) map[string]string {
		m := make(map[string]string, keys)
		for i := range keys {
			key := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
			m[key] = pick(t, p, key)
		}
		return m
	}
	full := mapping(newPool(t, all, "consistent_hash", Options{}))
	count := map[string]int{}
	for _, name := range full {
		count[name]++
	}
	for _, tg := range all {
		if n := count[tg.Name]; n < keys/5*8/10 || n > keys/5*12/10 {
			t.Errorf("%s holds %d of %d keys, want about %d", tg.Name, n, keys, keys/5)
		}
	}

	// Remove c: only c's keys move (about 1/5), and none lands on c.
	without := mapping(newPool(t, []*api.Target{all[0], all[1], all[3], all[4]}, "ConsistentHash", Options{}))
	moved := 0
	for key, was := range full {
		if now := without[key]; now != was {
			moved++
			if was != "c" {
				t.Fatalf("key %s moved from %s to %s though only c was removed", key, was, now)
			}
		}
	}
	if frac := float64(moved) / keys; frac < 0.15 || frac > 0.25 {
		t.Errorf("removing 1 of 5 targets moved %.3f of keys, want about 0.2", frac)
	}

	// Adding c back to the 4 moves keys only onto c: same as full.
	// A target going down acts like a removal.
	p := newPool(t, all, "consistent_hash", Options{})
	markDown(p, "c")
	for key, want := range without {
		if got := pick(t, p, key); got != want {
			t.Fatalf("with c down, key %s on %s, want %s as with c removed", key, got, want)
		}
	}
}

func TestConsistentHash_Weighted(t *testing.T) {
	p := newPool(t, targets(servers(t, 2), nil, 3, 1), "consistent_hash", Options{})
	a := 0
	for i := range 8000 {
		if pick(t, p, fmt.Sprint("user-", i)) == "a" {
			a++
		}
	}
	if frac := float64(a) / 8000; frac < 0.72 || frac > 0.78 {
		t.Fatalf("weight 3:1 gave a %.3f of keys, want about 0.75", frac)
	}
}

func TestHashPolicies_EmptyKeyRoundRobin(t *testing.T) {
	for _, alg := range []string{IPHash, ConsistentHash} {
		p := newPool(t, targets(servers(t, 3), nil), alg, Options{})
		if got, want := sequence(t, p, 4), "a b c a"; got != want {
			t.Errorf("%s with empty key: picks = %s, want %s", alg, got, want)
		}
	}
}

// TestPolicies runs every policy against a pool with hosts down.
func TestPolicies(t *testing.T) {
	for _, alg := range []string{RoundRobin, Weighted, LeastConnections, IPHash, ConsistentHash} {
		for _, tc := range []struct {
			name string
			down []string
			want string // targets that may be picked, each at least once; "" for ErrNoHealthy
		}{
			{"AllUp", nil, "abc"},
			{"OneDown", []string{"b"}, "ac"},
			{"FirstDown", []string{"a"}, "bc"},
			{"OnlyOneUp", []string{"a", "c"}, "b"},
			{"AllDown", []string{"a", "b", "c"}, ""},
		} {
			t.Run(alg+"/"+tc.name, func(t *testing.T) {
				p := newPool(t, targets(servers(t, 3), nil, 2, 1, 1), alg, Options{FailTimeout: time.Hour})
				for _, name := range tc.down {
					markDown(p, name)
				}
				got := map[string]int{}
				for i := range 60 {
					b, done, err := p.Pick(fmt.Sprint("192.0.2.", i))
					if tc.want == "" {
						if !errors.Is(err, ErrNoHealthy) || b != nil || done == nil {
							t.Fatalf("Pick = %v, %v; want nil, ErrNoHealthy and a done func", b, err)
						}
						done()
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if !b.Healthy() {
						t.Fatalf("picked %s, which is down", b.Name())
					}
					got[b.Name()]++
					done()
				}
				for _, name := range tc.want {
					if got[string(name)] == 0 {
						t.Errorf("never picked healthy %c: %v", name, got)
					}
				}
				if len(got) != len(tc.want) {
					t.Errorf("picked %v, want only %s", got, tc.want)
				}
			})
		}
	}
}

func TestActiveHealth_DownAndRecover(t *testing.T) {
	ss := servers(t, 3)
	ss[1].down.Store(true)
	type event struct {
		name      string
		healthy   bool
		ok, fails int64
	}
	events := make(chan event, 10)
	p := newPool(t, targets(ss, fastCheck()), "", Options{OnChange: func(b *Backend, healthy bool) {
		s := ss[b.Name()[0]-'a']
		events <- event{b.Name(), healthy, s.okProbes.Load(), s.failProbes.Load()}
	}})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := func() event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(3 * time.Second):
			t.Fatal("timed out waiting for a health change")
			return event{}
		}
	}
	e := next()
	if e != (event{name: "b", healthy: false, fails: 3}) {
		t.Fatalf("first change %+v, want b down after exactly 3 failed probes", e)
	}
	for range 20 {
		if name := pick(t, p, ""); name == "b" {
			t.Fatal("picked b while it is down")
		}
	}

	ss[1].down.Store(false)
	e = next()
	if e != (event{name: "b", healthy: true, ok: 2, fails: e.fails}) {
		t.Fatalf("second change %+v, want b up after exactly 2 good probes", e)
	}
	if got := sequence(t, p, 6); strings.Count(got, "b") != 2 {
		t.Fatalf("picks after recovery = %s, want b in turn", got)
	}
	if r, _ := ss[1].lastProbe.Load().(*http.Request); r == nil || r.Method != http.MethodGet || r.UserAgent() != "bw-health-check" {
		t.Fatalf("probe request %+v, want GET /health from bw-health-check", r)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if s := watchers(time.Second); s != "" {
		t.Fatalf("health checkers still running after Close:\n%s", s)
	}
	select {
	case e := <-events:
		t.Fatalf("unexpected change %+v", e)
	default:
	}
}

func TestActiveHealth_ClosedServer(t *testing.T) {
	ss := servers(t, 2)
	ss[0].Close() // connection refused from now on
	p := newPool(t, targets(ss, fastCheck()), "round_robin", Options{})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := p.Backends()[0]
	waitFor(t, "a to go down", func() bool { return !a.Healthy() })
	for range 10 {
		if name := pick(t, p, ""); name != "b" {
			t.Fatalf("picked %s, want b (a is down)", name)
		}
	}
}

func TestActiveHealth_AllDown(t *testing.T) {
	ss := servers(t, 3)
	for _, s := range ss {
		s.down.Store(true)
	}
	p := newPool(t, targets(ss, fastCheck()), "least_connections", Options{})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every target to go down", func() bool {
		_, _, err := p.Pick("")
		return errors.Is(err, ErrNoHealthy)
	})
	ss[2].down.Store(false)
	waitFor(t, "c to come back", func() bool {
		b, done, err := p.Pick("")
		done()
		return err == nil && b.Name() == "c"
	})
}

func TestActiveHealth_Timeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	check := &api.HealthCheck{Path: "/health", Interval: 10 * time.Millisecond, Timeout: 20 * time.Millisecond, UnhealthyThreshold: 2}
	p := newPool(t, []*api.Target{{URL: slow.URL, HealthCheck: check}}, "", Options{})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := p.Backends()[0]
	if b.Name() != strings.TrimPrefix(slow.URL, "http://") {
		t.Fatalf("Name() = %q, want the host of %s", b.Name(), slow.URL)
	}
	waitFor(t, "the slow target to go down", func() bool { return !b.Healthy() })
}

func TestActiveHealth_PathOnTargetHost(t *testing.T) {
	s := newTestServer(t)
	check := fastCheck()
	check.Path = "/health?deep=1"
	p := newPool(t, []*api.Target{{Name: "api", URL: s.URL + "/api/v1", HealthCheck: check}}, "", Options{})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a probe", func() bool { return s.okProbes.Load() > 0 })
	r := s.lastProbe.Load().(*http.Request)
	if r.URL.Path != "/health" || r.URL.RawQuery != "deep=1" {
		t.Fatalf("probe went to %s, want /health?deep=1", r.URL)
	}
}

func TestPassive_MarkFailure(t *testing.T) {
	var changes atomic.Int64
	p := newPool(t, targets(servers(t, 2), nil), "", Options{
		FailTimeout: 100 * time.Millisecond,
		OnChange:    func(*Backend, bool) { changes.Add(1) },
	})
	a := p.Backends()[0]
	p.MarkFailure(a)
	p.MarkFailure(a)
	if !a.Healthy() {
		t.Fatal("a down after 2 failures, want 3")
	}
	p.MarkFailure(a)
	if a.Healthy() {
		t.Fatal("a healthy after 3 failures")
	}
	if got := sequence(t, p, 3); got != "b b b" {
		t.Fatalf("picks = %s, want only b", got)
	}
	// Without a health check, a is tried again after FailTimeout.
	waitFor(t, "a to be tried again", a.Healthy)
	if n := changes.Load(); n != 2 {
		t.Fatalf("OnChange called %d times, want 2 (down, up)", n)
	}
	// Failures further apart than FailTimeout do not add up.
	p.MarkFailure(a)
	p.MarkFailure(a)
	time.Sleep(150 * time.Millisecond)
	p.MarkFailure(a)
	if !a.Healthy() {
		t.Fatal("a down after failures spread over more than FailTimeout")
	}
}

func TestPassive_WithActiveCheck(t *testing.T) {
	ss := servers(t, 2)
	check := fastCheck()
	check.Interval = time.Hour // one probe at Start, then none during the test
	p := newPool(t, targets(ss, check), "", Options{})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first probes", func() bool { return ss[0].okProbes.Load() == 1 && ss[1].okProbes.Load() == 1 })
	a := p.Backends()[0]
	for range 3 {
		p.MarkFailure(a)
	}
	time.Sleep(20 * time.Millisecond)
	if a.Healthy() {
		t.Fatal("a healthy after 3 passive failures")
	}
	// With a health check, only good probes bring it back.
	time.Sleep(50 * time.Millisecond)
	if a.Healthy() {
		t.Fatal("a came back without probes")
	}
}

func TestPool_StartClose(t *testing.T) {
	p, err := NewPool(targets(servers(t, 1), fastCheck()), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err == nil || err.Error() != "upstream: pool already started" {
		t.Fatalf("second Start: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v, want ErrClosed", err)
	}
	if name := pick(t, p, ""); name != "a" {
		t.Fatalf("Pick after Close = %s", name)
	}

	// Close without Start.
	q, err := NewPool(targets(servers(t, 1), fastCheck()), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	// Canceling Start's context stops the checkers too.
	r := newPool(t, targets(servers(t, 2), fastCheck()), "", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if s := watchers(2 * time.Second); s != "" {
		t.Fatalf("checkers still running after cancel:\n%s", s)
	}
}

func TestPool_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		ss := make([]*backend, 4)
		for i := range ss {
			ss[i] = &backend{}
			ss[i].Server = httptest.NewServer(http.NotFoundHandler())
		}
		defer func() {
			for _, s := range ss {
				s.Close()
			}
		}()
		p, err := NewPool(targets(ss, fastCheck()), "", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a few probes, with keep-alive connections
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestPool_Concurrent(t *testing.T) {
	for _, alg := range []string{RoundRobin, Weighted, LeastConnections, IPHash, ConsistentHash} {
		t.Run(alg, func(t *testing.T) {
			ss := servers(t, 3)
			check := fastCheck()
			check.Interval = 5 * time.Millisecond
			p := newPool(t, targets(ss, check, 1, 2, 3), alg, Options{})
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 500 {
						b, done, err := p.Pick(fmt.Sprint(g, "-", i))
						if err == nil && i%50 == 0 {
							p.MarkFailure(b)
						}
						if i%100 == 0 {
							ss[g%3].down.Store(i%200 == 0)
						}
						done()
					}
				})
			}
			wg.Wait()
			for _, b := range p.Backends() {
				if n := b.InFlight(); n != 0 {
					t.Errorf("%s: %d in flight after every done", b.Name(), n)
				}
			}
		})
	}
}

func TestNewPool_Err(t *testing.T) {
	ok := "http://127.0.0.1:9"
	for _, tc := range []struct {
		name    string
		targets []*api.Target
		alg     string
		want    string
	}{
		{"NoTargets", nil, "", "upstream: no targets"},
		{"NilTarget", []*api.Target{nil}, "", "upstream: targets[0]: missing"},
		{"UnknownAlgorithm", []*api.Target{{URL: ok}}, "random", `upstream: load_balancing algorithm "random": unknown (want round_robin, weighted, ip_hash, least_connections or consistent_hash)`},
		{"BadScheme", []*api.Target{{URL: "ftp://h"}}, "", `upstream: targets[0]: url "ftp://h": scheme must be http or https`},
		{"NoHost", []*api.Target{{URL: "http:///x"}}, "", `upstream: targets[0]: url "http:///x": missing host`},
		{"BadURL", []*api.Target{{URL: "http://h:x"}}, "", `upstream: targets[0]: url: parse "http://h:x": invalid port ":x" after host`},
		{"NegativeWeight", []*api.Target{{Name: "a", URL: ok, Weight: -1}}, "", `upstream: targets[0]: target "a": weight: must be >= 0 (got -1)`},
		{"DuplicateName", []*api.Target{{Name: "a", URL: ok}, {Name: "a", URL: ok}}, "", `upstream: targets[1]: name "a" already used by targets[0]`},
		{"DuplicateDefaultName", []*api.Target{{URL: ok}, {URL: ok + "/x"}}, "", `upstream: targets[1]: name "127.0.0.1:9" already used by targets[0]`},
		{
			"NegativeInterval", []*api.Target{{Name: "a", URL: ok, HealthCheck: &api.HealthCheck{Interval: -time.Second}}}, "",
			`upstream: targets[0]: target "a": health_check.interval: must be >= 0 (got -1s)`,
		},
		{
			"NegativeThreshold", []*api.Target{{Name: "a", URL: ok, HealthCheck: &api.HealthCheck{UnhealthyThreshold: -1}}}, "",
			`upstream: targets[0]: target "a": health_check.unhealthy_threshold: must be >= 0 (got -1)`,
		},
		{
			"AbsoluteHealthPath", []*api.Target{{Name: "a", URL: ok, HealthCheck: &api.HealthCheck{Path: "http://other/health"}}}, "",
			`upstream: targets[0]: target "a": health_check.path "http://other/health": must be a path on the target`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPool(tc.targets, tc.alg, Options{})
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestNormalizeAlgorithm(t *testing.T) {
	for in, want := range map[string]string{
		"":                   RoundRobin,
		"round_robin":        RoundRobin,
		"RoundRobin":         RoundRobin,
		"roundRobin":         RoundRobin,
		"round-robin":        RoundRobin,
		"weighted":           Weighted,
		"WeightedRoundRobin": Weighted,
		"ip_hash":            IPHash,
		"IpHash":             IPHash,
		"IPHash":             IPHash,
		"IP_HASH":            IPHash,
		"least_connections":  LeastConnections,
		"LeastConnections":   LeastConnections,
		"least_conn":         LeastConnections,
		"consistent_hash":    ConsistentHash,
		"ConsistentHash":     ConsistentHash,
	} {
		got, err := normalizeAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("normalizeAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
