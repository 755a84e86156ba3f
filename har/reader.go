package har

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"

	"github.com/backworks/bw/store"
)

// ReaderOptions configures [NewReader]; the zero value reads without
// redacting Meta.
type ReaderOptions struct {
	// Name is the file name errors start with.
	Name string
	// Redactor, when set, redacts the secrets that exchanges' Meta would
	// otherwise keep as they were (see the package documentation). Headers,
	// query and bodies are left to the store's writer.
	Redactor *store.Redactor
}

// Reader streams the entries of a HAR document as exchanges. It holds one
// entry in memory at a time.
//
// An entry's page (from log.pages) goes into its Meta when log.pages comes
// before log.entries in the file, as browsers write it; [Import] reads the
// file twice and so finds pages wherever they are.
type Reader struct {
	opts ReaderOptions
	cr   *countingReader
	dec  *json.Decoder
	base int64 // bytes skipped before the decoder's input (a byte order mark)

	state   int
	entry   int // index of the next entry
	sawLog  bool
	sawEnts bool
	err     error

	validateOnly bool
	pages        map[string]map[string]any
	browser      map[string]any
}

const (
	stStart   = iota // before the top-level '{'
	stTop            // in the top-level object
	stLog            // in log
	stEntries        // in log.entries
	stDone           // the document was read
)

// NewReader returns a Reader of the HAR document in r.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	cr := &countingReader{r: r}
	// Some Windows tools start the file with a UTF-8 byte order mark.
	br := bufio.NewReader(cr)
	var base int64
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		base = 3
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	return &Reader{opts: opts, cr: cr, dec: dec, base: base, pages: map[string]map[string]any{}}
}

// inputOffset is the decoder's position in the input.
func (r *Reader) inputOffset() int64 { return r.base + r.dec.InputOffset() }

// Next returns the next entry as an exchange (Source [store.SourceHAR], no
// ID, no Session), or io.EOF once the whole document has been read and found
// well formed. Any other error is an [*Error]; it is returned again by every
// later call.
func (r *Reader) Next() (*store.Exchange, error) {
	if r.err != nil {
		return nil, r.err
	}
	ex, err := r.next()
	if err != nil {
		r.err = err
	}
	return ex, err
}

// Entries returns the number of entries read so far.
func (r *Reader) Entries() int { return r.entry }

// Offset returns the number of bytes read from the input so far.
func (r *Reader) Offset() int64 { return r.cr.n }

func (r *Reader) next() (*store.Exchange, error) {
	for {
		switch r.state {
		case stStart:
			if err := r.delim('{', "", "expected a JSON object"); err != nil {
				return nil, err
			}
			r.state = stTop
		case stTop:
			key, ok, err := r.key()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, r.finish()
			}
			if key != "log" {
				if err := r.skip(); err != nil {
					return nil, err
				}
				continue
			}
			if r.sawLog {
				return nil, r.errAt(r.inputOffset(), "log", "appears twice", ErrNotHAR)
			}
			r.sawLog = true
			if err := r.delim('{', "log", "not an object"); err != nil {
				return nil, err
			}
			r.state = stLog
		case stLog:
			key, ok, err := r.key()
			if err != nil {
				return nil, err
			}
			if !ok {
				r.state = stTop
				continue
			}
			switch key {
			case "entries":
				if r.sawEnts {
					return nil, r.errAt(r.inputOffset(), "log.entries", "appears twice", ErrNotHAR)
				}
				r.sawEnts = true
				if err := r.delim('[', "log.entries", "not an array"); err != nil {
					return nil, err
				}
				r.state = stEntries
			case "pages":
				var v any
				if _, err := r.decode(&v); err != nil {
					return nil, err
				}
				r.addPages(v)
			case "browser":
				var v any
				if _, err := r.decode(&v); err != nil {
					return nil, err
				}
				if b, ok := v.(map[string]any); ok {
					r.browser = b
				}
			default:
				if err := r.skip(); err != nil {
					return nil, err
				}
			}
		case stEntries:
			if !r.dec.More() {
				if err := r.delim(']', "log.entries", "expected ']'"); err != nil {
					return nil, err
				}
				r.state = stLog
				continue
			}
			return r.readEntry()
		case stDone:
			return nil, io.EOF
		}
	}
}

// finish checks what follows the top-level object.
func (r *Reader) finish() error {
	r.state = stDone
	if tok, err := r.dec.Token(); err != io.EOF {
		if err != nil {
			return r.syntax(err)
		}
		return r.errAt(r.inputOffset()-tokenLen(tok), "", "unexpected data after the HAR document", ErrNotHAR)
	}
	switch {
	case !r.sawLog:
		return r.errAt(r.cr.n, "log", "missing", ErrNotHAR)
	case !r.sawEnts:
		return r.errAt(r.cr.n, "log.entries", "missing", ErrNotHAR)
	}
	return io.EOF
}

func (r *Reader) readEntry() (*store.Exchange, error) {
	i := r.entry
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		e := r.syntax(err).(*Error)
		e.Entry = i
		return nil, e
	}
	start := r.inputOffset() - int64(len(raw))
	r.entry++
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		return nil, &Error{Name: r.opts.Name, Offset: start, Entry: i, Err: err}
	}
	raw = nil
	ex, h, err := parseEntry(v)
	if err != nil {
		fe := err.(*fieldError)
		field := fe.field
		if field == "entry" {
			field = ""
		}
		return nil, &Error{Name: r.opts.Name, Offset: start, Entry: i, Field: field, Msg: fe.msg, Err: ErrInvalid}
	}
	if r.validateOnly {
		return ex, nil
	}
	m := v.(map[string]any)
	var page map[string]any
	if ref, ok := m["pageref"].(string); ok {
		page = r.pages[ref]
	}
	ex.Meta = entryMeta(ex, h, m, page, r.browser, r.opts.Redactor)
	return ex, nil
}

// addPages keeps log.pages items that have a string id.
func (r *Reader) addPages(v any) {
	a, _ := v.([]any)
	for _, p := range a {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		id, ok := m["id"].(string)
		if !ok {
			continue
		}
		if _, dup := r.pages[id]; !dup {
			r.pages[id] = r.redacted(m)
		}
	}
}

// usePages gives r the pages and browser another pass found.
func (r *Reader) usePages(pages map[string]map[string]any, browser map[string]any) {
	for id, p := range pages {
		r.pages[id] = r.redacted(p)
	}
	if browser != nil {
		r.browser = browser
	}
}

func (r *Reader) redacted(page map[string]any) map[string]any {
	if r.opts.Redactor == nil {
		return page
	}
	c := deepCopy(page).(map[string]any)
	redactTree(c, r.opts.Redactor)
	return c
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := maps.Clone(x)
		for k, e := range c {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// key reads the next object key; ok is false at the end of the object.
func (r *Reader) key() (string, bool, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return "", false, r.syntax(err)
	}
	switch t := tok.(type) {
	case string:
		return t, true, nil
	case json.Delim: // '}': Token checks the nesting
		return "", false, nil
	}
	return "", false, r.errAt(r.inputOffset(), "", "expected an object key", ErrNotHAR)
}

// delim reads a token that must be d.
func (r *Reader) delim(d json.Delim, field, msg string) error {
	tok, err := r.dec.Token()
	if err != nil {
		return r.syntax(err)
	}
	if t, ok := tok.(json.Delim); !ok || t != d {
		return r.errAt(r.inputOffset()-tokenLen(tok), field, msg, ErrNotHAR)
	}
	return nil
}

// tokenLen is the length of tok's JSON text (for a string without escapes).
func tokenLen(tok json.Token) int64 {
	switch t := tok.(type) {
	case json.Delim:
		return 1
	case string:
		return int64(len(t) + 2)
	case json.Number:
		return int64(len(t))
	case bool:
		if t {
			return 4
		}
		return 5
	case nil:
		return 4
	}
	return 0
}

// decode reads the next value into v.
func (r *Reader) decode(v any) (int64, error) {
	if err := r.dec.Decode(v); err != nil {
		return 0, r.syntax(err)
	}
	return r.inputOffset(), nil
}

// skip reads past the next value.
func (r *Reader) skip() error {
	var raw json.RawMessage
	_, err := r.decode(&raw)
	return err
}

func (r *Reader) errAt(off int64, field, msg string, err error) *Error {
	return &Error{Name: r.opts.Name, Offset: off, Entry: -1, Field: field, Msg: msg, Err: err}
}

// syntax turns a decoder error into an *Error at the right byte.
func (r *Reader) syntax(err error) error {
	e := &Error{Name: r.opts.Name, Offset: r.cr.n, Entry: -1, Err: err}
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Err = ErrTruncated
	case errors.As(err, &se):
		// After a failed Decode the decoder still stands where the value
		// began, and its buffer holds the bytes up to the error; the
		// decoder's own offset counts from elsewhere, so scan them again.
		e.Offset = r.inputOffset()
		var raw json.RawMessage
		err2 := json.NewDecoder(r.dec.Buffered()).Decode(&raw)
		if se2, ok := err2.(*json.SyntaxError); ok && se2.Offset > 0 {
			e.Offset += se2.Offset - 1
		}
	}
	// Otherwise a read error: Offset is how far the input was read.
	return e
}

// countingReader counts the bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
