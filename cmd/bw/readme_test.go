package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestREADME runs the shell blocks of the README's Usage section, in order,
// as printed, in an empty directory with a clean environment (no BW_DB, a
// fresh HOME), with bw and the sample API built from this tree. It fails
// when a command fails or bw prints an error. The only rewrites: each
// loopback port becomes a free one, and a line sent to the background
// gets its stderr kept and is waited for until it is listening, as a
// person waits for "listening on" before going on.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's commands need %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The README is read outside the workshop: it names nothing that is not
	// in the repository.
	if m := outsideRefs.FindString(string(readme)); m != "" {
		t.Errorf("README names %q, which is not in the repository", m)
	}
	blocks := usageBlocks(string(readme))
	if len(blocks) < 5 {
		t.Fatalf("found %d shell blocks in the README's Usage section; want the whole walk-through", len(blocks))
	}

	dir := t.TempDir()
	pathDir := filepath.Join(dir, ".path")
	for _, d := range []string{pathDir, filepath.Join(dir, "bin"), filepath.Join(dir, ".home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(buildBW(t), filepath.Join(pathDir, "bw")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "sampleapi"), "../../fixtures/sampleapi").CombinedOutput(); err != nil {
		t.Fatalf("build sampleapi: %v\n%s", err, out)
	}

	script := readmeScript(t, blocks)
	if err := os.WriteFile(filepath.Join(dir, ".readme.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", ".readme.sh")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + pathDir + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + filepath.Join(dir, ".home"),
		"TMPDIR=" + dir,
		"LANG=C.UTF-8",
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's Usage commands failed: %v\n--- script\n%s\n--- output\n%s", err, script, tail(out, 8000))
	}
	logs, _ := filepath.Glob(filepath.Join(dir, ".bg*.err"))
	for _, f := range append(logs, "") {
		text := string(out)
		if f != "" {
			b, _ := os.ReadFile(f)
			text = string(b)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "bw: ") {
				t.Errorf("a README command printed an error: %q\n--- output\n%s", line, tail(out, 8000))
			}
		}
	}
	// The walk-through never names --db for its own recordings: they are in
	// ./bw.db, and the reports it asks for were written.
	for _, f := range []string{"bw.db", "copy.db", "session.har", "api.yaml", "openapi.yaml", "openapi.json", "report.xml", "report.json", "mock.yaml"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("after the README's commands, %s is missing or empty (%v)", f, err)
		}
	}
}

// usageBlocks returns the bodies of the ```sh blocks between "## Usage" and
// the next level-two heading.
func usageBlocks(readme string) []string {
	var blocks []string
	in, fence := false, false
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Usage"
		case !in:
		case fence && strings.HasPrefix(line, "```"):
			blocks = append(blocks, cur.String())
			cur.Reset()
			fence = false
		case fence:
			cur.WriteString(line + "\n")
		case line == "```sh":
			fence = true
		}
	}
	return blocks
}

var outsideRefs = regexp.MustCompile(`(?i)\.\./shared|\bshared/(spec|eval)|\bissues? #?\d+`)

var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)

// readmeScript turns the blocks into one bash script: strict mode, each
// README port mapped to a free one, background lines awaited.
func readmeScript(t *testing.T, blocks []string) string {
	t.Helper()
	ports := map[string]string{}
	var b strings.Builder
	b.WriteString(`set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
# ready FILE: wait until the background command writing FILE is listening.
ready() {
  for _ in $(seq 200); do
    grep -q 'listening on' "$1" && return 0
    kill -0 $! 2>/dev/null || { echo "background command died:"; cat "$1"; return 1; }
    sleep 0.05
  done
  echo "not listening after 10s:"; cat "$1"; return 1
}
`)
	n := 0
	for _, block := range blocks {
		block = strings.ReplaceAll(block, "\\\n", " ")
		block = loopbackPort.ReplaceAllStringFunc(block, func(m string) string {
			port := strings.TrimPrefix(m, "127.0.0.1:")
			if _, ok := ports[port]; !ok {
				ports[port] = freePort(t)
			}
			return "127.0.0.1:" + ports[port]
		})
		for _, line := range strings.Split(block, "\n") {
			code := strings.TrimSpace(stripComment(line))
			if code == "" {
				continue
			}
			fmt.Fprintf(&b, "echo '$ %s'\n", strings.ReplaceAll(code, "'", `'\''`))
			if bg, ok := strings.CutSuffix(code, "&"); ok && !strings.HasSuffix(bg, "&") {
				n++
				log := fmt.Sprintf(".bg%d.err", n)
				fmt.Fprintf(&b, "%s 2>%s &\nready %s\n", bg, log, log)
				continue
			}
			b.WriteString(code + "\n")
		}
	}
	return b.String()
}

// stripComment drops a shell comment: a # at the start of a word, outside
// quotes.
func stripComment(line string) string {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return line[:i]
		}
		prev = r
	}
	return line
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
