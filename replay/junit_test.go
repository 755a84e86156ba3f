package replay_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net"
	"regexp"
	"strconv"
	"testing"

	"github.com/backworks/bw/replay"
)

// node is an XML element with its attributes and children.
type node struct {
	name  string
	attrs map[string]string
	kids  []*node
	text  string
}

func parseXML(t *testing.T, data []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					t.Fatal("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	return root
}

var (
	xsdTimestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`) // Ant: ISO8601_DATETIME_PATTERN, no zone
	xsdDecimal   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// checkJUnit checks a report against the rules of the Ant JUnit schema
// (junit-4.xsd) and Jenkins' (jenkins-junit.xsd) that CI systems rely on:
// testsuites > testsuite(name, tests, failures, errors, skipped, time,
// timestamp, hostname, id, package) > properties, testcase(name,
// classname, time) > at most one of failure/error(message, type) or
// skipped, then system-out and system-err (both schemas allow them in a
// testcase); counts that add up.
func checkJUnit(t *testing.T, data []byte) (tests, failures, errors, skipped int) {
	t.Helper()
	root := parseXML(t, data)
	if root.name != "testsuites" {
		t.Fatalf("root element %q, want testsuites", root.name)
	}
	count := func(n *node, attr string) int {
		v, ok := n.attrs[attr]
		if !ok {
			t.Errorf("<%s> lacks %s", n.name, attr)
			return -1
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			t.Errorf("<%s %s=%q> is not a non-negative integer", n.name, attr, v)
		}
		return i
	}
	decimal := func(n *node, attr string) {
		if v, ok := n.attrs[attr]; !ok || !xsdDecimal.MatchString(v) {
			t.Errorf("<%s %s=%q> is not an xs:decimal", n.name, attr, v)
		}
	}
	if len(root.kids) == 0 {
		t.Fatal("no testsuite")
	}
	for _, ts := range root.kids {
		if ts.name != "testsuite" {
			t.Fatalf("<testsuites> holds <%s>", ts.name)
		}
		for _, a := range []string{"name", "hostname", "package", "id"} {
			if ts.attrs[a] == "" {
				t.Errorf("<testsuite> lacks %s", a)
			}
		}
		if !xsdTimestamp.MatchString(ts.attrs["timestamp"]) {
			t.Errorf("testsuite timestamp %q", ts.attrs["timestamp"])
		}
		decimal(ts, "time")
		tests, failures, errors, skipped = count(ts, "tests"), count(ts, "failures"), count(ts, "errors"), count(ts, "skipped")
		// Ant's sequence: properties, testcase*, system-out, system-err.
		kids := ts.kids
		if len(kids) < 3 || kids[0].name != "properties" || kids[len(kids)-2].name != "system-out" || kids[len(kids)-1].name != "system-err" {
			t.Fatalf("testsuite children out of order")
		}
		for _, p := range kids[0].kids {
			if p.name != "property" || p.attrs["name"] == "" || p.attrs["value"] == "" {
				t.Errorf("bad property %+v", p)
			}
		}
		var n, nf, ne, ns int
		for _, tc := range kids[1 : len(kids)-2] {
			if tc.name != "testcase" {
				t.Fatalf("<testsuite> holds <%s> between properties and system-out", tc.name)
			}
			n++
			if tc.attrs["name"] == "" || tc.attrs["classname"] == "" {
				t.Errorf("testcase lacks name or classname: %v", tc.attrs)
			}
			decimal(tc, "time")
			verdicts, out := 0, false
			for _, k := range tc.kids {
				switch k.name {
				case "system-out", "system-err":
					out = true
				default:
					verdicts++
					if out {
						t.Errorf("testcase %q: <%s> after system-out", tc.attrs["name"], k.name)
					}
				}
			}
			if verdicts > 1 {
				t.Errorf("testcase %q has %d verdicts, want at most one", tc.attrs["name"], verdicts)
			}
			for _, k := range tc.kids {
				switch k.name {
				case "system-out", "system-err":
				case "failure", "error":
					if k.attrs["message"] == "" || k.attrs["type"] == "" {
						t.Errorf("<%s> lacks message or type: %v", k.name, k.attrs)
					}
					if k.name == "failure" {
						nf++
					} else {
						ne++
					}
				case "skipped":
					ns++
				default:
					t.Errorf("testcase holds <%s>", k.name)
				}
			}
		}
		if n != tests || nf != failures || ne != errors || ns != skipped {
			t.Errorf("counts: tests %d/%d failures %d/%d errors %d/%d skipped %d/%d", tests, n, failures, nf, errors, ne, skipped, ns)
		}
	}
	sum := func(attr string) int { return count(root, attr) }
	if sum("tests") != tests || sum("failures") != failures || sum("errors") != errors {
		t.Errorf("testsuites counts differ from the testsuite's")
	}
	decimal(root, "time")
	return
}

// TestJUnit checks the report of a run with failures and skips, and of one
// with transport errors, against the JUnit schemas.
func TestJUnit(t *testing.T) {
	db := record(t, newShop(), "", func(base string) { driveShop(t, base) })

	s := newShop()
	s.priceNumber = true
	var buf bytes.Buffer
	j, err := replay.NewJUnit(&buf, "bw test <shop> & \"friends\"")
	if err != nil {
		t.Fatal(err)
	}
	col := runAgainst(t, db, s, replay.Options{Reporters: []replay.Reporter{j}})
	tests, failures, errors, skipped := checkJUnit(t, buf.Bytes())
	if tests != 24 || failures != col.sum.Failed || failures == 0 || errors != 0 || skipped != 0 {
		t.Errorf("tests %d failures %d errors %d skipped %d", tests, failures, errors, skipped)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`type="shape"`)) || !bytes.Contains(buf.Bytes(), []byte("$.price: type number, want string")) {
		t.Errorf("failure text missing:\n%s", buf.Bytes())
	}

	// Writes skipped (not loopback) and transport errors (nothing listens).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	buf.Reset()
	j, _ = replay.NewJUnit(&buf, "bw test")
	runTarget(t, db, "http://shop.example.test", replay.Options{Client: redirect(addr), Reporters: []replay.Reporter{j}})
	tests, failures, errors, skipped = checkJUnit(t, buf.Bytes())
	if tests != 24 || failures != 0 || errors == 0 || skipped == 0 || errors+skipped != tests {
		t.Errorf("tests %d failures %d errors %d skipped %d\n%s", tests, failures, errors, skipped, buf.Bytes())
	}
}
