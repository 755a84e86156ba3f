package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

// maxShowBody caps how much of a body bw show prints.
const maxShowBody = 64 << 10

func showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print one exchange in full",
		UsageText: "bw show ID\n\nExample:\n   bw show $(bw ls --json --limit 1 | jq -r .id)",
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 1, "one exchange ID"); err != nil {
				return err
			}
			id, err := store.ParseID(c.Args().First())
			if err != nil {
				return err
			}
			db, err := openDB(c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			ex, err := db.Get(id)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(c.App.Writer)
			writeExchange(out, ex)
			return out.Flush()
		},
	}
}

func writeExchange(w io.Writer, ex *store.Exchange) {
	fmt.Fprintf(w, "# %s  %s  source=%s", ex.ID, ex.Start.UTC().Format(time.RFC3339Nano), ex.Source)
	if ex.Session != "" {
		fmt.Fprintf(w, " session=%s", ex.Session)
	}
	fmt.Fprintf(w, " duration=%s", ex.Duration)
	if ex.ClientAddr != "" || ex.ServerAddr != "" {
		fmt.Fprintf(w, " client=%s server=%s", ex.ClientAddr, ex.ServerAddr)
	}
	fmt.Fprintln(w)
	if ex.Error != "" {
		fmt.Fprintf(w, "# error: %s\n", ex.Error)
	}
	r := &ex.Request
	fmt.Fprintf(w, "\n%s %s %s\n", r.Method, pathQuery(r), r.Proto)
	if r.Header.Get("Host") == "" {
		fmt.Fprintf(w, "Host: %s\n", r.Host)
	}
	writeMessage(w, r.Header, &r.Body)
	s := &ex.Response
	reason := s.Reason
	if reason == "" {
		reason = http.StatusText(s.Status)
	}
	fmt.Fprintf(w, "\n%s %d %s\n", s.Proto, s.Status, reason)
	writeMessage(w, s.Header, &s.Body)
}

func writeMessage(w io.Writer, h store.Header, b *store.Body) {
	for _, f := range h {
		fmt.Fprintf(w, "%s: %s\n", f.Name, f.Value)
	}
	if b.Size == 0 && len(b.Data) == 0 {
		return
	}
	fmt.Fprintln(w)
	data, note := displayBody(h, b)
	if note != "" {
		fmt.Fprintf(w, "[%s]\n", note)
	}
	if data != nil {
		w.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			fmt.Fprintln(w)
		}
	}
}

// displayBody returns the body as a person wants to read it: decompressed,
// JSON indented, binary as a short hex dump.
func displayBody(h store.Header, b *store.Body) ([]byte, string) {
	data := b.Data
	var notes []string
	if b.Truncated {
		notes = append(notes, fmt.Sprintf("truncated: %d of %d bytes recorded", len(b.Data), b.Size))
	}
	if enc := strings.ToLower(h.Get("Content-Encoding")); enc != "" && b.Decoded == "" {
		if dec, err := store.Decompress(enc, data, 64<<20); err == nil {
			notes = append(notes, fmt.Sprintf("%s-encoded, %d bytes on the wire, shown decoded", enc, len(data)))
			data = dec
		}
	}
	ct, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.HasSuffix(ct, "json") || json.Valid(data) {
		var buf bytes.Buffer
		if json.Indent(&buf, data, "", "  ") == nil {
			data = buf.Bytes()
		}
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		notes = append(notes, fmt.Sprintf("binary, %d bytes", len(data)))
		if len(data) > 256 {
			data = data[:256]
		}
		return []byte(hex.Dump(data)), strings.Join(notes, "; ")
	}
	if len(data) > maxShowBody {
		notes = append(notes, fmt.Sprintf("showing the first %d bytes", maxShowBody))
		data = data[:maxShowBody]
	}
	return data, strings.Join(notes, "; ")
}
