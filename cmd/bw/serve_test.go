package main

import (
	"bufio"
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
			res, err := http.Get("http://" + addr + path)
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
