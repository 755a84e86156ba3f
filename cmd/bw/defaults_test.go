package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/urfave/cli/v2"
)

// userEnv is the environment of a user who never set BW_DB.
func userEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BW_DB=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home)
}

// bwIn runs the bw binary in dir as a user would, without BW_DB.
func bwIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(buildBW(t), args...)
	cmd.Dir, cmd.Env = dir, userEnv(dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("bw %v: %v", args, err)
	return -1, "", ""
}

var listenAddr = regexp.MustCompile(`listening on (https?://\S+)`)

// startIn starts a long-running bw command in dir and returns its URL once
// it listens, and a stop function that sends SIGTERM and returns the exit
// code and stderr.
func startIn(t *testing.T, dir string, args ...string) (string, func() (int, string)) {
	t.Helper()
	cmd := exec.Command(buildBW(t), args...)
	cmd.Dir, cmd.Env = dir, userEnv(dir)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	r := bufio.NewReader(pipe)
	line, _ := r.ReadString('\n')
	m := listenAddr.FindStringSubmatch(line)
	if m == nil {
		rest, _ := io.ReadAll(r)
		cmd.Wait()
		t.Fatalf("bw %v: first line %q, want listening on URL; then %s", args, line, rest)
	}
	return m[1], func() (int, string) {
		cmd.Process.Signal(syscall.SIGTERM)
		rest, _ := io.ReadAll(r)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), line + string(rest)
		}
		return 0, line + string(rest)
	}
}

// TestDefaultDB runs every command that touches recordings the way the
// README shows them, with neither --db nor BW_DB, from an empty directory:
// what capture and import write must land in ./bw.db and what the others
// read must come from it. A one-line change once lost the default file for
// every command while every test, each naming --db, passed.
func TestDefaultDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	up := tagUpstream(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, errs := bwIn(t, dir, args...)
		if code != 0 {
			t.Fatalf("bw %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}

	if code, _, errs := bwIn(t, dir, "ls"); code != 2 || !strings.Contains(errs, "bw: ./bw.db does not exist") {
		t.Fatalf("ls before any recording: exit %d, stderr %q; want the default file named", code, errs)
	}
	addr, stop := startIn(t, dir, "capture", "--upstream", up.URL, "--listen", "127.0.0.1:0")
	for i := range 3 {
		resp, err := http.Get(fmt.Sprintf("%s/things?tag=t%d", addr, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if code, errs := stop(); code != 0 {
		t.Fatalf("capture: exit %d: %s", code, errs)
	}
	if len(scanDB(t, filepath.Join(dir, "bw.db"))) != 3 {
		t.Fatal("bw capture did not record into ./bw.db")
	}

	run("export", "-o", "rec.har")
	run("import", "--session", "again", "rec.har")
	if n := len(scanDB(t, filepath.Join(dir, "bw.db"))); n != 6 {
		t.Fatalf("after bw import: %d exchanges in ./bw.db, want 6", n)
	}
	ids := strings.Fields(run("ls", "--ids"))
	if len(ids) != 6 {
		t.Fatalf("bw ls --ids: %d ids, want 6", len(ids))
	}
	if out := run("show", ids[0]); !strings.Contains(out, "GET /things?tag=t0") {
		t.Errorf("bw show: %s", out)
	}
	var shown showJSON
	if err := json.Unmarshal([]byte(run("show", "--json", ids[0])), &shown); err != nil || shown.ID != ids[0] ||
		shown.Response.Body == nil || shown.Response.Body.Text == nil || *shown.Response.Body.Text != `{"tag":"t0"}` {
		t.Errorf("bw show --json: %+v (%v)", shown, err)
	}
	if out := run("stats", "--json"); !strings.Contains(out, `"exchanges": 6`) && !strings.Contains(out, `"exchanges":6`) {
		t.Errorf("bw stats --json: %s", out)
	}
	run("infer", "-o", "api.yaml")
	if out := run("infer", "--format", "openapi"); !strings.Contains(out, "/things") {
		t.Errorf("bw infer --format openapi: %s", out)
	}

	// bw serve replays ./bw.db without being told.
	url, stopServe := startIn(t, dir, "serve", "api.yaml", "--listen", "127.0.0.1:0")
	resp, err := http.Get(url + "/things?tag=t1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Bw-Match"), "01") || string(body) != `{"tag":"t1"}` {
		t.Errorf("bw serve: Bw-Match %q, body %s; want the recording from ./bw.db", resp.Header.Get("Bw-Match"), body)
	}
	stopServe()

	run("test", "--target", up.URL)

	// --db anywhere names another file, and only that one.
	other := filepath.Join(dir, "other.db")
	for _, args := range [][]string{
		{"--db", other, "import", "rec.har"},
		{"import", "--db", other, "rec.har"},
		{"import", "rec.har", "--db", other},
	} {
		run(args...)
	}
	if n := len(scanDB(t, other)); n != 9 {
		t.Errorf("--db before, after the command and after its argument: %d exchanges in other.db, want 9", n)
	}
	otherIDs := strings.Fields(run("ls", "--ids", "--db", other))
	if out := run("show", otherIDs[0], "--db", other); !strings.Contains(out, otherIDs[0]) {
		t.Errorf("bw show ID --db: %s", out)
	}
	if code, _, _ := bwIn(t, dir, "show", otherIDs[0]); code == 0 {
		t.Error("an id from other.db was found in ./bw.db")
	}
}

// TestOrderArgs pins where flags may go.
func TestOrderArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"bw ls", "bw ls"},
		{"bw --db x.db ls", "bw --db x.db ls"},
		{"bw ls --db x.db", "bw --db x.db ls"},
		{"bw show ID --db x.db", "bw --db x.db show ID"},
		{"bw show ID --db=x.db -q", "bw --db=x.db -q show ID"},
		{"bw serve api.yaml --listen :0 --no-reload", "bw serve --listen :0 --no-reload api.yaml"},
		{"bw serve api.yaml --help", "bw serve --help"},
		{"bw import a.har --session s -", "bw import --session s a.har -"},
		{"bw import --session s -- --odd.har", "bw import --session s -- --odd.har"},
		{"bw import x.har -- --db", "bw import -- x.har --db"},
		{"bw ls --bogus 1", "bw ls --bogus 1"},
		{"bw nope --db x", "bw nope --db x"},
		{"bw ls --me --generate-bash-completion", "bw ls --me --generate-bash-completion"},
		{"bw -v ls --json", "bw -v ls --json"},
	} {
		got := strings.Join(orderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestVersion checks bw version and --version against the build info of a
// binary built in this checkout the way the Makefile builds it.
func TestVersion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed to stamp a revision")
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "bw")
	build := exec.Command("go", "build", "-buildvcs=true", "-ldflags", "-X main.buildDate=2026-01-02T03:04:05Z", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("bw version --json: %v: %s", err, out)
	}
	if v.Revision != strings.TrimSpace(string(rev)) || v.Built != "2026-01-02T03:04:05Z" || v.Committed == "" ||
		v.Go == "" || v.Version == "" || v.Version == "(devel)" {
		t.Errorf("bw version --json: %+v; want revision %s", v, rev)
	}
	if dirty := exec.Command("git", "diff", "--quiet", "HEAD").Run() != nil; dirty != v.Dirty {
		t.Errorf("dirty %v, want %v", v.Dirty, dirty)
	}
	text, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bw " + v.Version, "revision:  " + v.Revision, "built:     2026-01-02T03:04:05Z", "go:        " + v.Go} {
		if !strings.Contains(string(text), want) {
			t.Errorf("bw --version:\n%s\nwant a line %q", text, want)
		}
	}
}

// TestCompletion loads the bash script into a real bash and completes with
// it; zsh and fish check the syntax of theirs when installed.
func TestCompletion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Symlink(buildBW(t), filepath.Join(dir, "bw")); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + dir + ":" + os.Getenv("PATH")
	complete := func(words ...string) []string {
		script := fmt.Sprintf(`source <(bw completion bash)
COMP_WORDS=(%s); COMP_CWORD=%d; _bw_complete; printf '%%s\n' "${COMPREPLY[@]}"`, strings.Join(words, " "), len(words)-1)
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %v: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	if got := complete("bw", "ver"); !reflect.DeepEqual(got, []string{"version"}) {
		t.Errorf("bw ver<TAB>: %v", got)
	}
	if got := complete("bw", "ls", "--me"); !reflect.DeepEqual(got, []string{"--method"}) {
		t.Errorf("bw ls --me<TAB>: %v", got)
	}
	for _, sh := range []string{"zsh", "fish"} {
		code, out, errs := bw(t, "completion", sh)
		if code != 0 || !strings.Contains(out, "bw") {
			t.Fatalf("bw completion %s: exit %d, %s", sh, code, errs)
		}
		bin, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		cmd := exec.Command(bin, "-n")
		cmd.Stdin = strings.NewReader(out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s -n on bw completion %s: %v\n%s", sh, sh, err, msg)
		}
	}
	if code, _, errs := bw(t, "completion", "tcsh"); code != 2 || !strings.Contains(errs, `unknown shell "tcsh"`) {
		t.Errorf("bw completion tcsh: exit %d, %q", code, errs)
	}
}

// TestHelpExitStatus: every command's --help documents the exit status and
// the global flags, which work after the command too.
func TestHelpExitStatus(t *testing.T) {
	var app *cli.App = newApp(io.Discard, io.Discard)
	for _, cmd := range append(app.Commands, nil) {
		args := []string{"--help"}
		if cmd != nil {
			args = []string{cmd.Name, "--help"}
		}
		code, out, errs := bw(t, args...)
		if code != 0 || !strings.Contains(out, "EXIT STATUS:") || cmd != nil && !strings.Contains(out, "--db") {
			t.Errorf("bw %v: exit %d, stderr %q, stdout:\n%s", args, code, errs, out)
		}
	}
}

// TestUsageHints: help as a command, and a near miss names what was meant.
func TestUsageHints(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help"}, 0, "COMMANDS:"},
		{[]string{"help", "ls"}, 0, "bw ls - list recorded exchanges"},
		{[]string{"lss"}, 2, `bw: unknown command "lss" (did you mean ls?); see 'bw --help'`},
		{[]string{"help", "serv"}, 2, `bw: unknown command "serv" (did you mean serve?)`},
		{[]string{"ls", "--limt", "3"}, 2, "bw: ls: flag provided but not defined: -limt (did you mean --limit?); see 'bw ls --help'"},
		{[]string{"--dbb", "x", "ls"}, 2, "(did you mean --db?)"},
		{[]string{"ls", "--zzzzzz"}, 2, "bw: ls: flag provided but not defined: -zzzzzz; see 'bw ls --help'"},
	} {
		code, out, errs := bw(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("bw %v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
}
