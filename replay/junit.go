package replay

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// JUnit writes a JUnit XML report, the format CI systems render: one
// testsuites element holding one testsuite for the run, a testcase per
// exchange (classname: the operation), with a failure (or, for transport
// failures, an error) naming each diff, or skipped. A testcase whose
// differences in values were not counted (see Result.WithoutValues) says
// why in its system-out, and the suite's properties count them by why,
// as the console's summary does. It follows both the
// Ant JUnit schema and Jenkins' (properties, system-out and system-err
// included, timestamp without zone).
//
// The testsuite's counts come before its testcases, so results are
// spooled to a temporary file and written out by Finish: memory stays
// constant however many exchanges run. Call Close when Finish may not run.
type JUnit struct {
	w     io.Writer
	name  string
	spool *os.File
	buf   *bufio.Writer
}

// NewJUnit returns a JUnit reporter writing to w; name names the suite.
func NewJUnit(w io.Writer, name string) (*JUnit, error) {
	f, err := os.CreateTemp("", "bw-junit-*.xml")
	if err != nil {
		return nil, fmt.Errorf("junit spool: %w", err)
	}
	return &JUnit{w: w, name: name, spool: f, buf: bufio.NewWriterSize(f, 64<<10)}, nil
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

// Report implements [Reporter].
func (j *JUnit) Report(r *Result) error {
	fmt.Fprintf(j.buf, "    <testcase name=\"%s\" classname=\"%s\" time=\"%s\">", xmlText(r.Name()), xmlText(r.Operation), seconds(r.Duration))
	switch r.Outcome {
	case Skip:
		fmt.Fprintf(j.buf, "\n      <skipped message=\"%s\"/>\n    ", xmlText(r.Reason))
	case Fail:
		elem := "failure"
		if r.Layer() == LayerTransport {
			elem = "error"
		}
		var text strings.Builder
		for _, d := range r.Diffs {
			text.WriteString(d.String())
			text.WriteByte('\n')
		}
		if r.MoreDiffs > 0 {
			fmt.Fprintf(&text, "... and %d more\n", r.MoreDiffs)
		}
		if r.URL != "" {
			fmt.Fprintf(&text, "sent: %s %s\n", r.Method, r.URL)
		}
		if r.WithoutValues != "" {
			fmt.Fprintf(&text, "checked without values: %s\n", r.WithoutValues)
		}
		fmt.Fprintf(j.buf, "\n      <%s message=\"%s\" type=\"%s\">%s</%s>\n    ",
			elem, xmlText(r.Diffs[0].String()), r.Layer(), xmlText(text.String()), elem)
	case Pass:
		if r.WithoutValues != "" {
			// A pass has no element of its own to carry a message in.
			fmt.Fprintf(j.buf, "\n      <system-out>checked without values: %s</system-out>\n    ", xmlText(r.WithoutValues))
		}
	}
	_, err := j.buf.WriteString("</testcase>\n")
	return err
}

// Finish implements [Reporter]: it writes the document to w.
func (j *JUnit) Finish(s *Summary) error {
	defer j.Close()
	if err := j.buf.Flush(); err != nil {
		return err
	}
	if _, err := j.spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	failures := s.Failed - s.Errors
	w := bufio.NewWriter(j.w)
	fmt.Fprintf(w, "%s<testsuites name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\">\n",
		xml.Header, xmlText(j.name), s.Total, failures, s.Errors, s.Skipped, seconds(s.Duration))
	fmt.Fprintf(w, "  <testsuite name=\"%s\" id=\"0\" package=\"bw\" hostname=\"%s\" timestamp=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\">\n",
		xmlText(j.name), xmlText(host), s.Started.UTC().Format("2006-01-02T15:04:05"), s.Total, failures, s.Errors, s.Skipped, seconds(s.Duration))
	fmt.Fprintf(w, "    <properties>\n      <property name=\"target\" value=\"%s\"/>\n      <property name=\"spec\" value=\"%s\"/>\n",
		xmlText(s.Target), xmlText(s.Spec))
	for _, r := range byCount(s.WithoutValues) {
		fmt.Fprintf(w, "      <property name=\"checked without values\" value=\"%d: %s\"/>\n", s.WithoutValues[r], xmlText(r))
	}
	fmt.Fprintf(w, "    </properties>\n")
	if _, err := io.Copy(w, j.spool); err != nil {
		return err
	}
	fmt.Fprintf(w, "    <system-out></system-out>\n    <system-err></system-err>\n  </testsuite>\n</testsuites>\n")
	return w.Flush()
}

// Close removes the spool file; Finish calls it.
func (j *JUnit) Close() error {
	if j.spool == nil {
		return nil
	}
	j.spool.Close()
	err := os.Remove(j.spool.Name())
	j.spool = nil
	return err
}
