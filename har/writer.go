package har

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/backworks/bw/store"
)

// WriterOptions configures [NewWriter] and [Export]; the zero value names
// the creator version "devel".
type WriterOptions struct {
	// CreatorVersion is log.creator.version (bw's version).
	CreatorVersion string
}

// Writer streams a HAR 1.2 document: one entry per [Writer.Write], in the
// order written. Nothing but the current entry and the list of pages is held
// in memory. A Writer is not safe for concurrent use.
type Writer struct {
	w    *bufio.Writer
	opts WriterOptions
	n    int
	open bool // the header was written

	pages   []any
	pageIDs map[string]string // page identity -> id written
	usedIDs map[string]bool
	browser map[string]any
	err     error
}

// NewWriter returns a Writer to w. Call Close to end the document.
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	if opts.CreatorVersion == "" {
		opts.CreatorVersion = "devel"
	}
	return &Writer{
		w:       bufio.NewWriterSize(w, 64<<10),
		opts:    opts,
		pageIDs: map[string]string{},
		usedIDs: map[string]bool{},
	}
}

func (w *Writer) header() {
	if w.open {
		return
	}
	w.open = true
	w.w.WriteString("{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": ")
	jw := jsonWriter{w.w}
	jw.value(object{{"name", "bw"}, {"version", w.opts.CreatorVersion}}, 2)
	w.w.WriteString(",\n    \"entries\": [")
}

// Write adds ex as the next entry.
func (w *Writer) Write(ex *store.Exchange) error {
	if w.err != nil {
		return w.err
	}
	w.header()
	e := w.entry(ex)
	if w.n > 0 {
		w.w.WriteByte(',')
	}
	w.n++
	w.w.WriteString("\n      ")
	jsonWriter{w.w}.value(e, 3)
	if err := w.werr(); err != nil {
		w.err = err
	}
	return w.err
}

// entry builds the entry for ex: derived from the exchange, with the patch
// kept in Meta applied, its page registered.
func (w *Writer) entry(ex *store.Exchange) object {
	var hm harMeta
	if len(ex.Meta) > 0 {
		hm = readMeta(ex.Meta)
	}
	var h hints
	if c := sub(hm.entry, "request", "postData"); c != nil {
		h.reqEnc, _ = c[keyEnc].(string)
	}
	if c := sub(hm.entry, "response", "content"); c != nil {
		h.resEnc, _ = c[keyEnc].(string)
	}
	if c := sub(hm.entry, "request"); c != nil {
		h.reqPseudo = readPseudo(c[keyPseudo])
	}
	if c := sub(hm.entry, "response"); c != nil {
		h.resPseudo = readPseudo(c[keyPseudo])
	}
	e := entryObject(ex, h)
	if hm.entry != nil {
		e = apply(e, hm.entry)
	}
	e = reorder(e, "")
	if hm.browser != nil && w.browser == nil {
		w.browser = hm.browser
	}
	if hm.page != nil {
		if id, ok := hm.page["id"].(string); ok {
			newID := w.addPage(id, hm.page)
			if ref, ok := e.get("pageref"); ok && ref == id {
				e.set("pageref", newID)
			}
		}
	}
	return e
}

// addPage registers a page and returns its id in the output: pages from
// different imports that share an id get "_2", "_3"... appended.
func (w *Writer) addPage(id string, page map[string]any) string {
	b, _ := json.Marshal(page)
	key := string(b)
	if got, ok := w.pageIDs[key]; ok {
		return got
	}
	newID := id
	for n := 2; w.usedIDs[newID]; n++ {
		newID = fmt.Sprintf("%s_%d", id, n)
	}
	w.usedIDs[newID] = true
	w.pageIDs[key] = newID
	if newID != id {
		c := make(map[string]any, len(page))
		for k, v := range page {
			c[k] = v
		}
		c["id"] = newID
		page = c
	}
	w.pages = append(w.pages, page)
	return newID
}

// Close ends the document (writing log.pages and log.browser, known only
// now) and flushes it. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err == errClosed {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	w.header()
	if w.n > 0 {
		w.w.WriteString("\n    ")
	}
	w.w.WriteByte(']')
	jw := jsonWriter{w.w}
	if len(w.pages) > 0 {
		w.w.WriteString(",\n    \"pages\": ")
		jw.value(w.pages, 2)
	}
	if w.browser != nil {
		w.w.WriteString(",\n    \"browser\": ")
		jw.value(w.browser, 2)
	}
	w.w.WriteString("\n  }\n}\n")
	if err := w.werr(); err != nil {
		w.err = err
		return err
	}
	w.err = w.w.Flush()
	if w.err == nil {
		w.err = errClosed
		return nil
	}
	return w.err
}

var errClosed = errors.New("har writer is closed")

// werr returns the bufio writer's sticky error, if any.
func (w *Writer) werr() error {
	_, err := w.w.Write(nil)
	return err
}

// Export writes every exchange in db, in capture order, as a HAR 1.2
// document to w, and returns how many it wrote. It only reads db.
func Export(ctx context.Context, db *store.DB, w io.Writer, opts WriterOptions) (int, error) {
	hw := NewWriter(w, opts)
	err := db.Scan(ctx, store.Filter{}, func(ex *store.Exchange) error {
		if err := hw.Write(ex); err != nil {
			return fmt.Errorf("write HAR: %w", err)
		}
		return nil
	})
	if err != nil {
		return hw.n, err
	}
	if err := hw.Close(); err != nil {
		return hw.n, fmt.Errorf("write HAR: %w", err)
	}
	return hw.n, nil
}
