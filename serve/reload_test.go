package serve_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backworks/bw/serve"
)

func versionFile(v int) string {
	return fmt.Sprintf(`name: reload
version: "%d"
endpoints:
  version:
    path: /version
    methods: [GET]
    mock_responses:
      GET:
        status: 200
        body: {version: %d}
  other:
    path: /other/{id}
    methods: [GET]
    mock_responses:
      GET: {status: 200, body: ok}
`, v, v)
}

// writeFile replaces path's content the way editors do: a new file renamed
// over the old one, or in place.
func writeFile(t *testing.T, path, content string, rename bool) {
	t.Helper()
	if rename {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReloadDuringTraffic rewrites the file several times, with valid and
// broken versions, while a client sends ~200 requests a second: no request
// fails, each valid version takes effect, and broken ones leave the last
// valid one serving.
func TestReloadDuringTraffic(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	writeFile(t, file, versionFile(1), false)
	var logs syncBuffer
	s, base := startServer(t, serve.Config{File: file, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	var (
		sent, failed atomic.Int64
		mu           sync.Mutex
		seen         = map[string]int{}
		firstErr     atomic.Value
	)
	ctx, stop := context.WithCancel(context.Background())
	started := time.Now()
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for w := range 4 { // four clients, ~50 requests/s each
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ctx.Err() == nil; i++ {
				<-tick.C
				path := "/version"
				if (i+w)%3 == 0 {
					path = "/other/7"
				}
				res, err := client.Get(base + path)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %d %s", path, res.StatusCode, b))
					continue
				}
				if path == "/version" {
					mu.Lock()
					seen[string(b)]++
					mu.Unlock()
				}
			}
		})
	}

	// waitVersion polls until /version answers v.
	waitVersion := func(v int) {
		t.Helper()
		want := fmt.Sprintf(`{"version":%d}`, v)
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			res, err := http.Get(base + "/version")
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(b) == want {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("version %d never served", v)
	}
	// waitFailures polls until n failed reloads are logged.
	waitFailures := func(n int) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for strings.Count(logs.String(), "reload failed") < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := strings.Count(logs.String(), "reload failed"); got != n {
			t.Errorf("%d failed reloads logged, want %d:\n%s", got, n, logs.String())
		}
	}
	time.Sleep(200 * time.Millisecond)
	writeFile(t, file, versionFile(2), false)
	waitVersion(2)
	writeFile(t, file, "name: [broken", true) // invalid YAML
	waitFailures(1)
	writeFile(t, file, versionFile(3), true)
	waitVersion(3)
	writeFile(t, file, strings.Replace(versionFile(4), "path: /version", "path: version-without-slash", 1), false)
	waitFailures(2)
	writeFile(t, file, versionFile(5), false)
	waitVersion(5)
	time.Sleep(max(200*time.Millisecond, 2*time.Second-time.Since(started)))
	stop()
	wg.Wait()
	elapsed := time.Since(started)

	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed; first: %v", n, sent.Load(), firstErr.Load())
	}
	// ~200/s is the aim; a loaded machine drops ticks.
	if rate := float64(sent.Load()) / elapsed.Seconds(); rate < 40 {
		t.Errorf("only %d requests in %v (%.0f/s)", sent.Load(), elapsed, rate)
	}
	mu.Lock()
	for body := range seen {
		if body != `{"version":1}` && body != `{"version":2}` && body != `{"version":3}` && body != `{"version":5}` {
			t.Errorf("served %q", body)
		}
	}
	mu.Unlock()
	if !regexp.MustCompile(`api\.yaml:\d+:\d+: invalid YAML`).MatchString(logs.String()) {
		t.Errorf("the YAML error does not name FILE:LINE:COL:\n%s", logs.String())
	}
	// the last broken edit failed and an explicit reload of the good file works
	rs := time.Now()
	if err := s.Reload(); err != nil {
		t.Errorf("Reload: %v", err)
	}
	t.Logf("%d requests in %v, versions seen: %v; reload %v", sent.Load(), elapsed, seen, time.Since(rs))
}

func TestBadFileAtStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api.yaml")
	writeFile(t, file, "name: x\nendpoints:\n  a:\n    path: [\n", false)
	_, err := serve.New(serve.Config{File: file})
	if err == nil || !strings.HasPrefix(err.Error(), file+":") {
		t.Fatalf("error %v, want one starting with %s:LINE:COL", err, file)
	}
}
