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
		UsageText: "bw show ID [--json]\n\nExamples:\n   bw show $(bw ls --ids --limit 1)\n   bw show --json ID > exchange.json",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the exchange as one JSON object, bodies decoded (base64 when binary)"}},
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
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(showRecord(ex))
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

// showJSON is bw show --json: ls --json's fields, then both messages whole.
type showJSON struct {
	lsJSON
	ServerAddr string      `json:"server_addr,omitempty"`
	Request    messageJSON `json:"request"`
	Response   messageJSON `json:"response"`
}

type messageJSON struct {
	Method string       `json:"method,omitempty"`
	URL    string       `json:"url,omitempty"`
	Status int          `json:"status,omitempty"`
	Reason string       `json:"reason,omitempty"`
	Proto  string       `json:"proto"`
	Header []headerJSON `json:"headers"`
	Body   *bodyJSON    `json:"body,omitempty"`
}

type headerJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// bodyJSON holds a body decoded from its content coding: as text when it is
// UTF-8, else as base64.
type bodyJSON struct {
	Size      int64   `json:"size"`
	Truncated bool    `json:"truncated,omitempty"`
	Encoding  string  `json:"content_encoding,omitempty"`
	Text      *string `json:"text,omitempty"`
	Base64    []byte  `json:"base64,omitempty"`
}

func showRecord(ex *store.Exchange) showJSON {
	r, s := &ex.Request, &ex.Response
	return showJSON{
		lsJSON:     lsRecord(ex),
		ServerAddr: ex.ServerAddr,
		Request:    messageJSON{Method: r.Method, URL: r.URL(), Proto: r.Proto, Header: headersJSON(r.Header), Body: bodyRecord(r.Header, &r.Body)},
		Response:   messageJSON{Status: s.Status, Reason: s.Reason, Proto: s.Proto, Header: headersJSON(s.Header), Body: bodyRecord(s.Header, &s.Body)},
	}
}

func headersJSON(h store.Header) []headerJSON {
	out := make([]headerJSON, len(h))
	for i, f := range h {
		out[i] = headerJSON(f)
	}
	return out
}

func bodyRecord(h store.Header, b *store.Body) *bodyJSON {
	if b.Size == 0 && len(b.Data) == 0 {
		return nil
	}
	data, enc := decodedBody(h, b)
	out := &bodyJSON{Size: b.Size, Truncated: b.Truncated, Encoding: enc}
	if utf8.Valid(data) {
		text := string(data)
		out.Text = &text
	} else {
		out.Base64 = data
	}
	return out
}

// displayBody returns the body as a person wants to read it: decompressed,
// JSON indented, binary as a short hex dump.
func displayBody(h store.Header, b *store.Body) ([]byte, string) {
	var notes []string
	if b.Truncated {
		notes = append(notes, fmt.Sprintf("truncated: %d of %d bytes recorded", len(b.Data), b.Size))
	}
	data, enc := decodedBody(h, b)
	if enc != "" && b.Decoded == "" {
		notes = append(notes, fmt.Sprintf("%s-encoded, %d bytes on the wire, shown decoded", enc, len(b.Data)))
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

// decodedBody is the body without its content coding, and the coding it
// was sent with: empty when none, or when it could not be decoded (then
// the body is returned as recorded).
func decodedBody(h store.Header, b *store.Body) ([]byte, string) {
	if b.Decoded != "" {
		return b.Data, b.Decoded
	}
	enc := strings.ToLower(h.Get("Content-Encoding"))
	if enc == "" {
		return b.Data, ""
	}
	dec, err := store.Decompress(enc, b.Data, 64<<20)
	if err != nil {
		return b.Data, ""
	}
	return dec, enc
}
