package har

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/backworks/bw/store"
)

// FuzzReader checks that the reader never panics, that every error it
// returns is a *har.Error, that no pseudo-header is left among the headers,
// and that whatever it accepts can be exported and read back. The seeds
// include every fixture, chromium-h2.har's HTTP/2 entries among them.
func FuzzReader(f *testing.F) {
	// Seeds: each fixture entry in a small document of its own (the fuzzer
	// minimises what it finds, which is slow for large inputs), and a cut.
	paths, _ := filepath.Glob(filepath.Join(fixtures, "*.har"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var doc struct {
			Log struct {
				Pages   []any `json:"pages"`
				Entries []any `json:"entries"`
			} `json:"log"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			f.Fatal(err)
		}
		for _, e := range doc.Log.Entries {
			one, _ := json.Marshal(map[string]any{"log": map[string]any{
				"version": "1.2", "pages": doc.Log.Pages, "entries": []any{e}}})
			f.Add(one)
			f.Add(one[:len(one)*2/3])
		}
	}
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"2024-01-01T00:00:00Z","request":{"method":"GET","url":"x"},"response":{"status":"1"}}]}}`))
	f.Add([]byte(`{"log":{"pages":[{"id":"p"}],"entries":[]}}`))
	f.Add([]byte(`{"log":{"entries":[]}} []`))
	red := store.NewRedactor([]byte("fuzz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data), ReaderOptions{Name: "f.har", Redactor: red})
		var buf bytes.Buffer
		w := NewWriter(&buf, WriterOptions{})
		n := 0
		for {
			ex, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %v is a %T, not a *har.Error", err, err)
				}
				return
			}
			for _, h := range []store.Header{ex.Request.Header, ex.Response.Header} {
				for _, f := range h {
					if store.IsPseudoHeader(f.Name) {
						t.Fatalf("pseudo-header %q stored as a header", f.Name)
					}
				}
			}
			if err := w.Write(ex); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// What bw writes, bw reads.
		rd2 := NewReader(bytes.NewReader(buf.Bytes()), ReaderOptions{Name: "export.har"})
		m := 0
		for {
			_, err := rd2.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("export of an accepted file does not read back: %v\n%s", err, buf.Bytes())
			}
			m++
		}
		if m != n {
			t.Fatalf("export has %d entries, want %d", m, n)
		}
	})
}
