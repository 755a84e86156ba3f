package har

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

const fixtures = "../fixtures/har"

var fixtureNames = []string{"chrome.har", "firefox.har", "mitmproxy.har", "chromium-h2.har", "mitmproxy-h2.har"}

func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bw.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t testing.TB, db *store.DB) int {
	t.Helper()
	info, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.Exchanges
}

func importBytes(t testing.TB, db *store.DB, name string, data []byte, opts ImportOptions) (int, error) {
	t.Helper()
	opts.Name = name
	return Import(context.Background(), db, bytes.NewReader(data), opts)
}

func export(t testing.TB, db *store.DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), db, &buf, WriterOptions{CreatorVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalize decodes a JSON document with numbers as float64, so that two
// spellings of one number compare equal.
func normalize(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

func logOf(v map[string]any) map[string]any { m, _ := v["log"].(map[string]any); return m }

// roundTrip imports data into a fresh db without redaction and exports it.
func roundTrip(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	db := openDB(t)
	n, err := importBytes(t, db, name, data, ImportOptions{NoRedact: true, Session: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, db); got != n {
		t.Fatalf("imported %d, db has %d", n, got)
	}
	return export(t, db)
}

func TestRoundTrip(t *testing.T) {
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			orig := readFixture(t, name)
			e1 := roundTrip(t, name, orig)

			// Every field of every entry survives, as do pages and browser.
			want, got := logOf(normalize(t, orig)), logOf(normalize(t, e1))
			if got["version"] != "1.2" {
				t.Errorf("version = %v", got["version"])
			}
			if c, _ := got["creator"].(map[string]any); c["name"] != "bw" || c["version"] != "test" {
				t.Errorf("creator = %v", got["creator"])
			}
			we, _ := want["entries"].([]any)
			ge, _ := got["entries"].([]any)
			if len(we) != len(ge) {
				t.Fatalf("%d entries exported, want %d", len(ge), len(we))
			}
			for i := range we {
				if !reflect.DeepEqual(we[i], ge[i]) {
					w, _ := json.MarshalIndent(we[i], "", " ")
					g, _ := json.MarshalIndent(ge[i], "", " ")
					t.Errorf("entry %d differs\nwant %s\ngot  %s", i, w, g)
				}
			}
			wp, _ := want["pages"].([]any)
			if len(wp) == 0 {
				wp = nil
			}
			gp, _ := got["pages"].([]any)
			if !reflect.DeepEqual(wp, gp) {
				t.Errorf("pages = %v, want %v", gp, wp)
			}
			if !reflect.DeepEqual(want["browser"], got["browser"]) {
				t.Errorf("browser = %v, want %v", got["browser"], want["browser"])
			}

			// A second round trip changes nothing, byte for byte.
			e2 := roundTrip(t, "export.har", e1)
			if !bytes.Equal(e1, e2) {
				t.Errorf("second round trip differs: %s", lineDiff(e1, e2))
			}
		})
	}
}

func TestMapping(t *testing.T) {
	rd := NewReader(bytes.NewReader(readFixture(t, "chrome.har")), ReaderOptions{Name: "chrome.har"})
	var exs []*store.Exchange
	for {
		ex, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, ex)
	}
	if len(exs) != 5 {
		t.Fatalf("read %d exchanges, want 5", len(exs))
	}

	home := exs[0]
	if home.Source != store.SourceHAR || home.Request.Method != "GET" || home.Request.Scheme != "https" ||
		home.Request.Host != "shop.example.com" || home.Request.Path != "/" ||
		home.Request.RawQuery != "ref=home&utm_source=newsletter" || home.Request.Proto != "http/2.0" {
		t.Errorf("request = %+v", home.Request)
	}
	if got := home.Start.UTC().Format("2006-01-02T15:04:05.000Z"); got != "2024-05-14T09:30:01.123Z" {
		t.Errorf("start = %s", got)
	}
	if home.Duration.Microseconds() != 171816 {
		t.Errorf("duration = %v", home.Duration)
	}
	if home.ServerAddr != "93.184.216.34:443" {
		t.Errorf("server = %q", home.ServerAddr)
	}
	if b := home.Response.Body; b.Decoded != "gzip" || b.Size != 182 || b.Truncated || !strings.HasPrefix(string(b.Data), "<!doctype html>") {
		t.Errorf("response body = %+v", b)
	}
	if vs := home.Response.Header.Values("set-cookie"); len(vs) != 2 || home.Response.Header[4].Name != "set-cookie" {
		t.Errorf("repeated headers lost: %v", home.Response.Header)
	}
	if home.Response.Reason != "" || home.Response.Status != 200 {
		t.Errorf("status = %d %q", home.Response.Status, home.Response.Reason)
	}

	img := exs[1]
	if b := img.Response.Body; b.Decoded != "" || len(b.Data) != 69 || !bytes.HasPrefix(b.Data, []byte("\x89PNG")) {
		t.Errorf("image body = %+v", b)
	}
	if img.ServerAddr != "[2606:2800:220:1:248:1893:25c8:1946]:443" {
		t.Errorf("server = %q", img.ServerAddr)
	}

	cart := exs[2]
	if cart.Request.Body.Decoded != "" || !strings.Contains(string(cart.Request.Body.Data), `"sku":"TSHIRT-M-BLUE"`) {
		t.Errorf("postData = %+v", cart.Request.Body)
	}
	if cart.Request.Header.Values("x-request-id")[1] != "retry-1" {
		t.Errorf("headers = %v", cart.Request.Header)
	}

	blocked := exs[4]
	if blocked.Error != "net::ERR_BLOCKED_BY_CLIENT" || blocked.Response.Status != 0 || blocked.ServerAddr != "" {
		t.Errorf("blocked = %+v", blocked)
	}

	// Meta keeps what the model has no place for.
	var meta map[string]any
	if err := json.Unmarshal(home.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	entry := meta["har"].(map[string]any)["entry"].(map[string]any)
	for _, k := range []string{"_initiator", "_priority", "_resourceType", "connection", "pageref", "timings"} {
		if _, ok := entry[k]; !ok {
			t.Errorf("Meta lacks %s: %s", k, home.Meta)
		}
	}
	if page := meta["har"].(map[string]any)["page"].(map[string]any); page["id"] != "page_1" {
		t.Errorf("page = %v", page)
	}
}

func TestFirefoxBodies(t *testing.T) {
	rd := NewReader(bytes.NewReader(readFixture(t, "firefox.har")), ReaderOptions{})
	var exs []*store.Exchange
	for {
		ex, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, ex)
	}
	if b := exs[0].Response.Body; b.Decoded != "br" || b.Truncated {
		t.Errorf("brotli body = %+v", b)
	}
	if exs[0].ServerAddr != "[2606:4700::6810:85e5]:443" {
		t.Errorf("server = %q", exs[0].ServerAddr)
	}
	// No text but a size: the body was left out of the file.
	if b := exs[1].Response.Body; !b.Truncated || b.Size != 5120 || len(b.Data) != 0 {
		t.Errorf("omitted body = %+v", b)
	}
	if exs[2].ServerAddr != "127.0.0.1:8081" || exs[2].Request.Host != "localhost:8081" {
		t.Errorf("exchange = %+v", exs[2])
	}
	if got := exs[0].Start.UTC().Format("15:04:05.000"); got != "09:02:17.305" {
		t.Errorf("start = %s", got)
	}
}

func TestRedaction(t *testing.T) {
	db := openDB(t)
	for _, name := range fixtureNames {
		if _, err := importBytes(t, db, name, readFixture(t, name), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out := export(t, db)
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "s3cr3t", "s%3Aabc", "k-12345", "abc123", "t0k3n", "live_abcdef"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("export holds %q", secret)
		}
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("db file holds %q", secret)
		}
	}
	if !bytes.Contains(out, []byte(store.RedactedPrefix)) {
		t.Error("no placeholders in export")
	}
	// The redacted export still imports.
	db2 := openDB(t)
	if _, err := importBytes(t, db2, "redacted.har", out, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A body recorded as it went over the wire (gzip) is decompressed for HAR;
// one that cannot be (brotli) keeps its wire bytes, and both come back.
func TestExportWireBodies(t *testing.T) {
	db := openDB(t)
	var gz bytes.Buffer
	zw := newGzip(&gz)
	zw.Write([]byte(`{"ok":true}`))
	zw.Close()
	mk := func(coding string, data []byte, truncated bool) *store.Exchange {
		return &store.Exchange{
			Source: store.SourceProxy, Start: time0, Duration: 1500000, ClientAddr: "127.0.0.1:50000",
			ServerAddr: "127.0.0.1:9000",
			Request: store.Request{Method: "GET", Scheme: "http", Host: "api.test", Path: "/x", Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Host", Value: "api.test"}}},
			Response: store.Response{Status: 200, Proto: "HTTP/1.1", Header: store.Header{
				{Name: "Content-Type", Value: "application/json"}, {Name: "Content-Encoding", Value: coding}},
				Body: store.Body{Data: data, Size: int64(len(data)) + 10*btoi(truncated), Truncated: truncated}},
			Error: "",
		}
	}
	w := db.NewWriter(store.WriterOptions{})
	for _, ex := range []*store.Exchange{
		mk("gzip", gz.Bytes(), false),
		mk("br", []byte{0x1b, 0x0a, 0x00, 0xf8}, false),
		mk("gzip", gz.Bytes()[:10], true),
	} {
		if err := w.Write(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	e1 := export(t, db)
	log := logOf(normalize(t, e1))
	entries := log["entries"].([]any)
	c0 := entries[0].(map[string]any)["response"].(map[string]any)["content"].(map[string]any)
	if c0["text"] != `{"ok":true}` || c0["encoding"] != nil || c0["size"] != float64(11) {
		t.Errorf("gzip content = %v", c0)
	}
	c1 := entries[1].(map[string]any)["response"].(map[string]any)["content"].(map[string]any)
	if c1["encoding"] != "base64" || c1["_bwCompressed"] != "br" {
		t.Errorf("br content = %v", c1)
	}
	c2 := entries[2].(map[string]any)["response"].(map[string]any)["content"].(map[string]any)
	if c2["_bwTruncated"] != true || c2["_bwCompressed"] != "gzip" {
		t.Errorf("truncated content = %v", c2)
	}
	e := entries[0].(map[string]any)
	if e["_clientAddress"] != "127.0.0.1:50000" || e["_serverAddress"] != "127.0.0.1:9000" {
		t.Errorf("addresses = %v %v", e["_clientAddress"], e["_serverAddress"])
	}

	// Import gives back the model (the gzip body now stored decoded).
	db2 := openDB(t)
	if _, err := importBytes(t, db2, "wire.har", e1, ImportOptions{NoRedact: true}); err != nil {
		t.Fatal(err)
	}
	var got []*store.Exchange
	db2.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error { got = append(got, ex); return nil })
	if b := got[0].Response.Body; b.Decoded != "gzip" || string(b.Data) != `{"ok":true}` {
		t.Errorf("gzip body = %+v", b)
	}
	if b := got[1].Response.Body; b.Decoded != "" || !bytes.Equal(b.Data, []byte{0x1b, 0x0a, 0x00, 0xf8}) {
		t.Errorf("br body = %+v", b)
	}
	if b := got[2].Response.Body; !b.Truncated || b.Size != 20 || b.Decoded != "" || len(b.Data) != 10 {
		t.Errorf("truncated body = %+v", b)
	}
	if got[0].ClientAddr != "127.0.0.1:50000" || got[0].ServerAddr != "127.0.0.1:9000" || got[0].Duration != 1500000 {
		t.Errorf("exchange = %+v", got[0])
	}
	if e2 := export(t, db2); !bytes.Equal(e1, e2) {
		t.Errorf("export of the import differs: %s", lineDiff(e1, e2))
	}
}

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestReaderErrors(t *testing.T) {
	chrome := readFixture(t, "chrome.har")
	good := `{"startedDateTime":"2024-01-01T00:00:00Z","time":1,"request":{"method":"GET","url":"http://a/","headers":[]},"response":{"status":200,"content":{"size":0}}}`
	doc := func(entries ...string) string {
		return `{"log":{"version":"1.2","entries":[` + strings.Join(entries, ",") + `]}}`
	}
	stringStatus := strings.Replace(good, `"status":200`, `"status":"200"`, 1)
	tests := []struct {
		name   string
		in     string
		msg    string // the whole message
		entry  int
		offset int64
		is     error
	}{
		{"Truncated", string(chrome[:1024]), "x.har: entry 0 (byte 1024): unexpected end of JSON input", 0, 1024, ErrTruncated},
		{"TruncatedAfterEntries", doc(good)[:len(doc(good))-2], fmt.Sprintf("x.har: byte %d: unexpected end of JSON input", len(doc(good))-2), -1, int64(len(doc(good)) - 2), ErrTruncated},
		{"Empty", "", "x.har: byte 0: unexpected end of JSON input", -1, 0, ErrTruncated},
		{"StringStatus", doc(good, stringStatus), fmt.Sprintf("x.har: entry 1 (byte %d): response.status: not a number", len(doc(good))-2), 1, int64(len(doc(good)) - 2), ErrInvalid},
		{"MissingLog", `{"version":"1.2"}`, "x.har: byte 17: log: missing", -1, 17, ErrNotHAR},
		{"MissingEntries", `{"log":{"pages":[]}}`, "x.har: byte 20: log.entries: missing", -1, 20, ErrNotHAR},
		{"NotObject", `[1,2]`, "x.har: byte 0: expected a JSON object", -1, 0, ErrNotHAR},
		{"EntriesNotArray", `{"log":{"entries":{}}}`, "x.har: byte 18: log.entries: not an array", -1, 18, ErrNotHAR},
		{"SyntaxInEntry", doc(good, `{"startedDateTime": x}`), fmt.Sprintf("x.har: entry 1 (byte %d): invalid character 'x' looking for beginning of value", len(doc(good))-2+20), 1, int64(len(doc(good)) - 2 + 20), nil},
		{"SyntaxOutside", `{"log" 1}`, "x.har: byte 7: invalid character '1' after object key", -1, 7, nil},
		{"Trailing", doc() + ` {}`, "x.har: byte 39: unexpected data after the HAR document", -1, 39, ErrNotHAR},
		{"BadBase64", doc(strings.Replace(good, `"size":0`, `"size":1,"text":"!!","encoding":"base64"`, 1)), "", 0, 35, ErrInvalid},
		{"BadDate", doc(strings.Replace(good, `2024-01-01T00:00:00Z`, `yesterday`, 1)), `x.har: entry 0 (byte 35): startedDateTime: invalid date "yesterday"`, 0, 35, ErrInvalid},
		{"MissingMethod", doc(strings.Replace(good, `"method":"GET",`, ``, 1)), `x.har: entry 0 (byte 35): request.method: missing`, 0, 35, ErrInvalid},
		{"BadHeader", doc(strings.Replace(good, `"headers":[]`, `"headers":[{"name":"a","value":1}]`, 1)), `x.har: entry 0 (byte 35): request.headers[0].value: not a string`, 0, 35, ErrInvalid},
		{"EntryNotObject", doc(good, `7`), fmt.Sprintf("x.har: entry 1 (byte %d): not an object", len(doc(good))-2), 1, int64(len(doc(good)) - 2), ErrInvalid},
		{"Before1970", doc(strings.Replace(good, `2024-01-01`, `1969-12-31`, 1)), `x.har: entry 0 (byte 35): startedDateTime: before 1970 (1969-12-31T00:00:00Z)`, 0, 35, ErrInvalid},
		{"BOMOffsets", "\xef\xbb\xbf" + doc(stringStatus), `x.har: entry 0 (byte 38): response.status: not a number`, 0, 38, ErrInvalid},
		{"StatusRange", doc(strings.Replace(good, `"status":200`, `"status":1e400`, 1)), `x.har: entry 0 (byte 35): response.status: number out of range`, 0, 35, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(tt.in), ReaderOptions{Name: "x.har"})
			var err error
			for err == nil {
				_, err = rd.Next()
			}
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("error %v (%T) is not a *har.Error", err, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err, tt.msg)
			}
			if he.Entry != tt.entry || he.Offset != tt.offset {
				t.Errorf("entry %d offset %d, want %d %d (%v)", he.Entry, he.Offset, tt.entry, tt.offset, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", err, tt.is)
			}
			if _, again := rd.Next(); again != err {
				t.Errorf("next call returned %v", again)
			}
		})
	}
}

// A bad file stores nothing: the db keeps exactly what it had.
func TestImportAllOrNothing(t *testing.T) {
	db := openDB(t)
	n, err := importBytes(t, db, "chrome.har", readFixture(t, "chrome.har"), ImportOptions{})
	if err != nil || n != 5 {
		t.Fatalf("import = %d, %v", n, err)
	}
	before := export(t, db)
	bad := readFixture(t, "firefox.har")
	for _, in := range [][]byte{
		bad[:len(bad)-20],
		bytes.Replace(bad, []byte(`"status": 204`), []byte(`"status": "204"`), 1),
	} {
		if _, err := importBytes(t, db, "firefox.har", in, ImportOptions{}); err == nil {
			t.Fatal("bad file imported")
		}
		if got := count(t, db); got != 5 {
			t.Errorf("db has %d exchanges, want 5", got)
		}
	}
	if after := export(t, db); !bytes.Equal(before, after) {
		t.Error("db changed")
	}
}

// changingFile reads as good the first time and truncated after a rewind,
// as if someone rewrote it between the passes.
type changingFile struct {
	good, bad []byte
	r         *bytes.Reader
	rewinds   int
}

func (f *changingFile) Read(p []byte) (int, error) { return f.r.Read(p) }

func (f *changingFile) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart && off == 0 {
		f.rewinds++
		if f.rewinds == 2 { // after the size probe, then before pass 2
			f.r = bytes.NewReader(f.bad)
		}
	}
	return f.r.Seek(off, whence)
}

// A failure in the second pass removes what was stored already.
func TestImportUndo(t *testing.T) {
	db := openDB(t)
	if _, err := importBytes(t, db, "chrome.har", readFixture(t, "chrome.har"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	good := generate(t, 1500, 256)
	bad := good[:len(good)*9/10]
	f := &changingFile{good: good, bad: bad, r: bytes.NewReader(good)}
	var logs bytes.Buffer
	_, err := Import(context.Background(), db, f, ImportOptions{Name: "big.har",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v", err)
	}
	// Some batches were committed before the failure, and then removed.
	var removed int
	if i := strings.Index(logs.String(), "removed="); i < 0 {
		t.Fatalf("no undo logged: %s", logs.String())
	} else {
		fmt.Sscan(logs.String()[i+len("removed="):], &removed)
	}
	if removed < flushEntries {
		t.Errorf("removed %d exchanges; the test should make the import fail after a flush", removed)
	}
	if got := count(t, db); got != 5 {
		t.Errorf("db has %d exchanges, want 5", got)
	}
}

func TestImportCancel(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Import(ctx, db, bytes.NewReader(generate(t, 2000, 64)), ImportOptions{
		Progress: func(done, total int64) {
			if calls++; done > total/2+total/4 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := count(t, db); got != 0 {
		t.Errorf("db has %d exchanges after cancel", got)
	}
}

// Pages from two imports that share an id stay apart.
func TestExportPageIDs(t *testing.T) {
	db := openDB(t)
	chrome := readFixture(t, "chrome.har")
	if _, err := importBytes(t, db, "a.har", chrome, ImportOptions{NoRedact: true}); err != nil {
		t.Fatal(err)
	}
	other := bytes.Replace(chrome, []byte(`"onLoad": 918.031`), []byte(`"onLoad": 1`), 1)
	other = bytes.ReplaceAll(other, []byte("2024-05-14T09:30"), []byte("2024-05-14T10:30"))
	if _, err := importBytes(t, db, "b.har", other, ImportOptions{NoRedact: true}); err != nil {
		t.Fatal(err)
	}
	log := logOf(normalize(t, export(t, db)))
	pages := log["pages"].([]any)
	if len(pages) != 2 || pages[0].(map[string]any)["id"] != "page_1" || pages[1].(map[string]any)["id"] != "page_1_2" {
		t.Fatalf("pages = %v", pages)
	}
	entries := log["entries"].([]any)
	if entries[0].(map[string]any)["pageref"] != "page_1" || entries[5].(map[string]any)["pageref"] != "page_1_2" {
		t.Errorf("pagerefs not remapped")
	}
}

func TestExportEmpty(t *testing.T) {
	db := openDB(t)
	out := export(t, db)
	log := logOf(normalize(t, out))
	if e, ok := log["entries"].([]any); !ok || len(e) != 0 {
		t.Errorf("entries = %v", log["entries"])
	}
	n, err := importBytes(t, openDB(t), "empty.har", out, ImportOptions{})
	if err != nil || n != 0 {
		t.Errorf("import = %d, %v", n, err)
	}
}

// Required HAR fields are there even for exchanges that did not come from
// a HAR file.
func TestExportRequiredFields(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{})
	w.Write(&store.Exchange{Source: store.SourcePcap, Start: time0,
		Request:  store.Request{Method: "POST", Scheme: "http", Host: "h", Path: "/p", RawQuery: "a=1&b=%20", Proto: "HTTP/1.1", Body: store.Body{Data: []byte{0, 1, 2}, Size: 3}},
		Response: store.Response{Status: 404, Proto: "HTTP/1.1", Header: store.Header{{Name: "Set-Cookie", Value: "a=b; Path=/; HttpOnly"}}}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	log := logOf(normalize(t, buf.Bytes()))
	e := log["entries"].([]any)[0].(map[string]any)
	for _, k := range []string{"startedDateTime", "time", "request", "response", "cache", "timings"} {
		if _, ok := e[k]; !ok {
			t.Errorf("entry lacks %s", k)
		}
	}
	req, res := e["request"].(map[string]any), e["response"].(map[string]any)
	for _, k := range []string{"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"} {
		if _, ok := req[k]; !ok {
			t.Errorf("request lacks %s", k)
		}
	}
	for _, k := range []string{"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"} {
		if _, ok := res[k]; !ok {
			t.Errorf("response lacks %s", k)
		}
	}
	for _, k := range []string{"send", "wait", "receive"} {
		if _, ok := e["timings"].(map[string]any)[k]; !ok {
			t.Errorf("timings lack %s", k)
		}
	}
	if res["statusText"] != "Not Found" || req["headersSize"] != float64(-1) {
		t.Errorf("statusText %v headersSize %v", res["statusText"], req["headersSize"])
	}
	if pd := req["postData"].(map[string]any); pd["text"] != "AAEC" || pd["_encoding"] != "base64" {
		t.Errorf("postData = %v", pd)
	}
	if q := req["queryString"].([]any); len(q) != 2 || q[1].(map[string]any)["value"] != " " {
		t.Errorf("queryString = %v", q)
	}
	if c := res["cookies"].([]any); len(c) != 1 || c[0].(map[string]any)["httpOnly"] != true {
		t.Errorf("cookies = %v", c)
	}
}

// lineDiff shows the first lines where a and b differ.
func lineDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n-%s\n+%s\n(context: %s)", i+1, x, y, strings.Join(al[lo:min(len(al), i+1)], "\n"))
		}
	}
	return "no difference"
}

// Files that start with a UTF-8 byte order mark read as without.
func TestBOM(t *testing.T) {
	db := openDB(t)
	data := append([]byte("\xef\xbb\xbf"), readFixture(t, "mitmproxy.har")...)
	if n, err := importBytes(t, db, "bom.har", data, ImportOptions{}); err != nil || n != 2 {
		t.Fatalf("import = %d, %v", n, err)
	}
}
