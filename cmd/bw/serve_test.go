package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const serveYAML = `name: cli
endpoints:
  user:
    path: /users/{id}
    methods: [GET]
  items:
    path: /items
    methods: [GET]
  hello:
    path: /hello
    methods: [GET]
    mock_responses:
      GET: {status: 200, body: {hello: world}}
`

func writeServeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startServe runs bw with args (which start bw serve) and waits for its
// listening line; it returns the address and a func that sends SIGINT and
// returns the exit code and the rest of stderr.
func startServe(t *testing.T, args ...string) (string, func() (int, string)) {
	t.Helper()
	cmd := exec.Command(buildBW(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	rest := make(chan string, 1)
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stderr)
		line, _ := r.ReadString('\n')
		first <- strings.TrimSuffix(line, "\n")
		b, _ := io.ReadAll(r)
		rest <- string(b)
		cmd.Wait()
		done <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	var addr string
	select {
	case line := <-first:
		m := regexp.MustCompile(`^listening on https?://(127\.0\.0\.1:\d+)$`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line on stderr %q, want listening on http(s)://ADDR; rest: %s", line, <-rest)
		}
		addr = m[1]
	case <-time.After(20 * time.Second):
		t.Fatal("bw serve did not print its listening line")
	}
	stop := func() (int, string) {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case code := <-done:
			return code, <-rest
		case <-time.After(20 * time.Second):
			t.Fatal("bw serve did not exit after SIGINT")
		}
		return -1, ""
	}
	return addr, stop
}

func TestServeCommand(t *testing.T) {
	db := seedDB(t) // GET /users/1 (JSON), GET /items?page=2 (gzip)
	file := writeServeFile(t, serveYAML)
	for _, args := range [][]string{
		{"--db", db, "serve", file, "--listen", "127.0.0.1:0"},
		{"-q", "serve", "--listen", "127.0.0.1:0", "--db", db, file},
	} {
		addr, stop := startServe(t, args...)
		get := func(path string) (*http.Response, string) {
			req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
			// The credential /users/1 was recorded with: an exact match.
			req.Header.Set("Authorization", "Bearer secret-token")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return res, string(b)
		}
		if res, body := get("/users/1"); res.StatusCode != 200 || body != `{"id":1,"name":"ann"}` ||
			!strings.HasSuffix(res.Header.Get("Bw-Match"), "; score=100") {
			t.Errorf("%v: GET /users/1: %d %q %v", args, res.StatusCode, body, res.Header)
		}
		if res, body := get("/items?page=2"); res.StatusCode != 200 || body != `{"items":[1,2,3]}` {
			t.Errorf("%v: GET /items: %d %q", args, res.StatusCode, body)
		}
		if res, body := get("/hello"); res.StatusCode != 200 || body != `{"hello":"world"}` {
			t.Errorf("%v: GET /hello: %d %q", args, res.StatusCode, body)
		}
		if res, _ := get("/__bw/health"); res.StatusCode != 200 {
			t.Errorf("%v: health %d", args, res.StatusCode)
		}
		code, rest := stop()
		if code != 0 {
			t.Errorf("%v: exit %d after SIGINT; stderr: %s", args, code, rest)
		}
		quiet := args[0] == "-q"
		if logged := strings.Contains(rest, "msg=request"); logged == quiet {
			t.Errorf("%v: access log lines present %v:\n%s", args, logged, rest)
		}
	}
}

func TestServeErrors(t *testing.T) {
	good := writeServeFile(t, serveYAML)
	bad := writeServeFile(t, "name: x\nendpoints:\n  a:\n    path: nope\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name string
		args []string
		want string // regexp for the one stderr line
	}{
		{"NoFile", []string{"serve"}, `^bw: serve: expected one FILE, got 0 argument\(s\); e\.g\. bw serve api\.yaml$`},
		{"TwoFiles", []string{"serve", good, good}, `expected one FILE, got 2`},
		{"BadFile", []string{"serve", bad}, `^bw: ` + regexp.QuoteMeta(bad) + `:4:11: .*must start with /`},
		{"MissingFile", []string{"serve", good + ".nope"}, `^bw: .*api\.yaml\.nope: cannot read`},
		{"BadLatency", []string{"serve", good, "--latency", "soon"}, `^bw: serve: --latency: .*want none, recorded or a duration`},
		{"UnknownFlag", []string{"serve", good, "--nope"}, `^bw: serve: flag provided but not defined: -nope; see 'bw serve --help'$`},
		{"PortInUse", []string{"serve", good, "--listen", ln.Addr().String()}, `^bw: listen on 127\.0\.0\.1:\d+: address already in use$`},
		{"MissingDB", []string{"serve", good, "--db", filepath.Join(t.TempDir(), "none.db")}, `^bw: recordings .*none\.db do not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := bw(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !regexp.MustCompile(tt.want).MatchString(strings.TrimSuffix(stderr, "\n")) {
				t.Errorf("stderr %q, want one line matching %s", stderr, tt.want)
			}
		})
	}
	if code, out, _ := bw(t, "serve", "--help"); code != 0 || !strings.Contains(out, "bw serve FILE") || !strings.Contains(out, "Examples:") {
		t.Errorf("serve --help: %d %q", code, out)
	}
}

func TestServeHelpAfterFile(t *testing.T) {
	code, out, stderr := bw(t, "serve", "api.yaml", "--help")
	if code != 0 || !strings.Contains(out, "bw serve FILE") || stderr != "" {
		t.Errorf("serve api.yaml --help: %d %q %q", code, out, stderr)
	}
}

// TestServeOriginalBackworks: files in the original project's map and list
// shapes answer as they say; a runtime block is a startup error naming it.
func TestServeOriginalBackworks(t *testing.T) {
	type want struct {
		method, path string
		status       int
		body         string
		header       [2]string
	}
	for file, cases := range map[string][]want{
		"original-map.yaml": {
			{"GET", "/users", 200, `[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"}]`, [2]string{"X-Total-Count", "2"}},
			{"POST", "/users", 201, `{"created":true,"id":3}`, [2]string{}},
			{"GET", "/users/7", 200, `{"id":1,"name":"Ann"}`, [2]string{}},
			{"DELETE", "/users/7", 204, ``, [2]string{}},
			{"GET", "/users/stats", 200, `{"active_users":1000,"last_updated":"${now()}","total_users":1200}`, [2]string{}},
		},
		"original-list.yaml": {
			{"GET", "/api/v1/users", 200, `[{"id":1,"username":"ann"},{"id":2,"username":"bob"}]`, [2]string{"X-Total-Count", "150"}},
			{"GET", "/api/v1/users/5", 200, `{"id":1,"username":"ann"}`, [2]string{}},
			{"DELETE", "/api/v1/users/5", 204, ``, [2]string{}},
			{"GET", "/health", 200, `{"status":"healthy"}`, [2]string{}},
			{"PUT", "/echo/a/b", 200, `{"echo":true}`, [2]string{}},
		},
	} {
		addr, stop := startServe(t, "serve", filepath.Join("..", "..", "api", "testdata", "load", file), "--listen", "127.0.0.1:0")
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, "http://"+addr+c.path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status || compactJSON(b) != c.body || c.header[0] != "" && res.Header.Get(c.header[0]) != c.header[1] {
				t.Errorf("%s: %s %s: %d %s %v", file, c.method, c.path, res.StatusCode, b, res.Header)
			}
		}
		stop()
	}
	code, _, errs := bw(t, "serve", filepath.Join("..", "..", "api", "testdata", "load", "runtime.yaml"), "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errs, "runtime.yaml:") || !strings.Contains(errs, "runtime") {
		t.Errorf("runtime file: exit %d, %q", code, errs)
	}
}

// compactJSON re-encodes a JSON body with sorted keys; other bodies as is.
func compactJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
