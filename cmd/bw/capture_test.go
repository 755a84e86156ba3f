package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backworks/bw/store"
)

// tagUpstream answers every request with a small JSON body naming its tag.
func tagUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tag":%q}`, r.URL.Query().Get("tag"))
	}))
	t.Cleanup(up.Close)
	return up
}

// captureProc is a running bw capture.
type captureProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr chan string // the rest of stderr, once the process ended
	done   chan error  // Wait's result
}

var listeningLine = regexp.MustCompile(`^listening on http://(127\.0\.0\.1:\d+)$`)

// startCapture runs bw capture in front of upstream, recording to db, and
// waits for its listening line.
func startCapture(t *testing.T, db, upstream string, args ...string) *captureProc {
	t.Helper()
	args = append([]string{"--db", db, "capture", "--upstream", upstream, "--listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(buildBW(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &captureProc{cmd: cmd, stderr: make(chan string, 1), done: make(chan error, 1)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	lines := bufio.NewReader(stderr)
	first := make(chan string, 1)
	go func() {
		line, _ := lines.ReadString('\n')
		first <- strings.TrimSuffix(line, "\n")
		rest, _ := io.ReadAll(lines)
		p.stderr <- string(rest)
		p.done <- cmd.Wait()
	}()
	select {
	case line := <-first:
		m := listeningLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line on stderr: %q, want %q", line, "listening on http://ADDR")
		}
		p.addr = m[1]
	case <-time.After(20 * time.Second):
		t.Fatal("bw capture did not print its listening line")
	}
	return p
}

// wait waits for the process to exit and returns its exit code and the
// rest of its stderr.
func (p *captureProc) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case rest := <-p.stderr:
		err := <-p.done
		p.done <- err // for the cleanup
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, rest
		case errors.As(err, &ee):
			return ee.ExitCode(), rest
		}
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("bw capture did not exit")
	}
	return -1, ""
}

// scanDB opens db as the next bw command would and returns its exchanges.
func scanDB(t *testing.T, path string) []*store.Exchange {
	t.Helper()
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatalf("open %s after capture: %v", path, err)
	}
	defer db.Close()
	var exs []*store.Exchange
	err = db.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error {
		exs = append(exs, ex)
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", path, err)
	}
	return exs
}

func TestCaptureInterrupt(t *testing.T) {
	t.Parallel()
	up := tagUpstream(t)
	db := filepath.Join(t.TempDir(), "bw.db")
	p := startCapture(t, db, up.URL, "--session", "run-1", "--no-redact")
	client := &http.Client{Timeout: 10 * time.Second}
	const n = 20
	for i := range n {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/items/%d?tag=t%d", p.addr, i, i), nil)
		req.Header.Set("Authorization", "Bearer abc")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := fmt.Sprintf(`{"tag":"t%d"}`, i); string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	p.cmd.Process.Signal(os.Interrupt)
	code, rest := p.wait(t)
	if code != 0 || rest != fmt.Sprintf("recorded %d exchanges (dropped 0)\n", n) {
		t.Errorf("exit %d, stderr after the listening line %q", code, rest)
	}
	exs := scanDB(t, db)
	if len(exs) != n {
		t.Fatalf("stored %d exchanges, want %d", len(exs), n)
	}
	for i, ex := range exs {
		if ex.Request.Path != fmt.Sprintf("/items/%d", i) || ex.Session != "run-1" ||
			ex.Source != store.SourceProxy || ex.Response.Status != 200 ||
			ex.Request.Header.Get("Authorization") != "Bearer abc" {
			t.Errorf("exchange %d: %s %s %q %d %v", i, ex.Source, ex.Session, ex.Request.Path, ex.Response.Status, ex.Request.Header)
		}
	}
}

// TestCaptureKill9: a bw capture killed under load leaves a database that
// opens and holds every exchange answered more than a second before.
func TestCaptureKill9(t *testing.T) {
	t.Parallel()
	up := tagUpstream(t)
	db := filepath.Join(t.TempDir(), "bw.db")
	p := startCapture(t, db, up.URL)

	var mu sync.Mutex
	answered := map[string]time.Time{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tag := fmt.Sprintf("g%d-%d", g, i)
				res, err := client.Get("http://" + p.addr + "/load?tag=" + tag)
				if err != nil {
					return // killed
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || !strings.Contains(string(b), tag) {
					return
				}
				mu.Lock()
				answered[tag] = time.Now()
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	killed := time.Now()
	p.cmd.Process.Signal(syscall.SIGKILL)
	code, _ := p.wait(t)
	close(stop)
	wg.Wait()
	if code != -1 {
		t.Logf("exit code after SIGKILL: %d", code)
	}

	stored := map[string]bool{}
	for _, ex := range scanDB(t, db) {
		tag := strings.TrimPrefix(ex.Request.RawQuery, "tag=")
		if stored[tag] {
			t.Errorf("tag %s stored twice", tag)
		}
		stored[tag] = true
	}
	must, missing := 0, 0
	for tag, at := range answered {
		if killed.Sub(at) > time.Second {
			must++
			if !stored[tag] {
				missing++
			}
		}
	}
	if must == 0 {
		t.Fatalf("no request was answered more than 1s before the kill (%d answered)", len(answered))
	}
	if missing > 0 {
		t.Errorf("%d of %d exchanges answered more than 1s before kill -9 are missing", missing, must)
	}
	t.Logf("answered %d, stored %d, %d answered >1s before the kill", len(answered), len(stored), must)
}

func TestCaptureErrors(t *testing.T) {
	t.Parallel()
	up := tagUpstream(t)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() }) // parallel subtests run after this function returns
	dir := t.TempDir()

	lockedDB := filepath.Join(dir, "locked.db")
	locker, err := store.Open(lockedDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The held database is untouched and still usable by its owner.
		if _, err := locker.Info(); err != nil {
			t.Error(err)
		}
		locker.Close()
	})
	garbage := filepath.Join(dir, "garbage.db")
	junk := make([]byte, 8<<10)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	if err := os.WriteFile(garbage, junk, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		db   string
		args []string
		want string // in the one line on stderr
	}{
		{"UnreachableUpstream", "", []string{"--upstream", "http://127.0.0.1:1"},
			"bw: upstream http://127.0.0.1:1 is unreachable: "},
		{"PortInUse", "", []string{"--upstream", up.URL, "--listen", held.Addr().String()},
			"bw: listen on " + held.Addr().String() + ": address already in use"},
		{"DBLocked", lockedDB, []string{"--upstream", up.URL, "--listen", "127.0.0.1:0"},
			"is in use by another process"},
		{"NotBW", garbage, []string{"--upstream", up.URL, "--listen", "127.0.0.1:0"},
			"is not a bw recordings file"},
		{"BadMaxBody", "", []string{"--upstream", up.URL, "--max-body", "nonsense"}, "--max-body"},
		{"NoUpstream", "", nil, "--upstream"},
		{"NotHTTP", "", []string{"--upstream", "ftp://example.com"}, "--upstream"},
		{"RelativeUpstream", "", []string{"--upstream", "localhost:3000"}, "--upstream"},
		// Not offered until they work: unknown flags, not promises.
		{"Proxy", "", []string{"--proxy"}, "bw: capture: flag provided but not defined: -proxy"},
		{"Pcap", "", []string{"--pcap", "x.pcap"}, "bw: capture: flag provided but not defined: -pcap"},
		{"UnknownFlag", "", []string{"--upstream", up.URL, "--bogus"}, "bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := tc.db
			if db == "" {
				db = filepath.Join(t.TempDir(), "bw.db")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, buildBW(t), append([]string{"--db", db, "capture"}, tc.args...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2; stderr %q", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "bw: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line starting with \"bw: \" containing %q", stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
			if tc.db == "" {
				if _, err := os.Stat(db); err == nil {
					t.Errorf("%s left behind", db)
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "10MiB": 10 << 20, "10mib": 10 << 20, "512KB": 512000, "512 KiB": 512 << 10,
		"1k": 1024, "2M": 2 << 20, "1GB": 1e9, "0": 0, "1.5MiB": 3 << 19, "7B": 7,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "nonsense", "10 parsecs", "-1", "MiB", "1.2.3MB", "99999999999999999999"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestCaptureSummary(t *testing.T) {
	if got := captureSummary(store.WriterStats{Written: 20000}); got != "recorded 20000 exchanges (dropped 0)" {
		t.Error(got)
	}
	got := captureSummary(store.WriterStats{Written: 1, Dropped: map[string]uint64{"queue_full": 3, "closed": 1, "x": 0}})
	if got != "recorded 1 exchange (dropped 4: closed 1, queue_full 3)" {
		t.Error(got)
	}
}
