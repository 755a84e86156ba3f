package har

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/backworks/bw/store"
)

// ImportOptions configures [Import]; the zero value redacts secrets and
// leaves Session empty.
type ImportOptions struct {
	// Name is the file name errors start with.
	Name string
	// Session is given to every imported exchange.
	Session string
	// NoRedact stores secrets as the file has them (store.WriterOptions.NoRedact).
	NoRedact bool
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called after each entry with the bytes read so
	// far over both passes and their total (twice the file size).
	Progress func(done, total int64)
}

// Import batches and commit sizes for the second pass: a flush every
// flushEntries exchanges or flushBytes of bodies bounds the memory held by
// the store's queue.
const (
	flushEntries = 512
	flushBytes   = 8 << 20
)

// Import reads the HAR document in r into db and returns the number of
// exchanges stored. It is all or nothing: a first pass reads and checks
// every entry and stores nothing, so a bad file returns its [*Error] and
// leaves db as it was; a second pass stores the entries, and if that fails
// (a store error, a cancelled ctx, a file changed in between) it deletes
// what it stored before returning the error.
func Import(ctx context.Context, db *store.DB, r io.ReadSeeker, opts ImportOptions) (int, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	size, err := r.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = r.Seek(0, io.SeekStart)
	}
	if err != nil {
		return 0, fmt.Errorf("import %s: the input must be a seekable file: %w", opts.Name, err)
	}
	progress := func(int64) {}
	if opts.Progress != nil {
		progress = func(done int64) { opts.Progress(done, 2*size) }
	}

	// Pass 1: check everything, store nothing.
	check := NewReader(r, ReaderOptions{Name: opts.Name})
	check.validateOnly = true
	n := 0
	for ; ; n++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if _, err := check.Next(); err == io.EOF {
			break
		} else if err != nil {
			return 0, err
		}
		progress(check.Offset())
	}
	log.Debug("checked HAR", "file", opts.Name, "entries", n, "bytes", size)

	// Pass 2: store.
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("import %s: %w", opts.Name, err)
	}
	// Meta is redacted with the database's key, so its placeholders match
	// those the store writes in headers and bodies.
	var red *store.Redactor
	if !opts.NoRedact {
		red = db.Redactor()
	}
	rd := NewReader(r, ReaderOptions{Name: opts.Name, Redactor: red})
	rd.usePages(check.pages, check.browser)

	w := db.NewWriter(store.WriterOptions{NoRedact: opts.NoRedact, Logger: log})
	ids := make([]store.ID, 0, n)
	undo := func(err error) (int, error) {
		w.Close()
		if derr := db.Delete(ids); derr != nil {
			return 0, fmt.Errorf("%w; removing the %d exchanges stored so far failed too: %v", err, len(ids), derr)
		}
		log.Debug("import undone", "file", opts.Name, "removed", len(ids))
		return 0, err
	}
	var gen store.IDGen
	var pending int64
	for {
		if err := ctx.Err(); err != nil {
			return undo(err)
		}
		ex, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return undo(err)
		}
		ex.Session = opts.Session
		ex.ID = gen.New(ex.Start)
		ids = append(ids, ex.ID)
		pending += int64(len(ex.Request.Body.Data) + len(ex.Response.Body.Data) + len(ex.Meta))
		if err := w.Write(ctx, ex); err != nil {
			return undo(fmt.Errorf("import %s: %w", opts.Name, err))
		}
		if len(ids)%flushEntries == 0 || pending >= flushBytes {
			if err := w.Flush(ctx); err != nil {
				return undo(fmt.Errorf("import %s: %w", opts.Name, err))
			}
			pending = 0
		}
		progress(size + rd.Offset())
	}
	if len(ids) != n {
		return undo(fmt.Errorf("import %s: the file changed while it was read (%d entries, then %d)", opts.Name, n, len(ids)))
	}
	if err := w.Flush(ctx); err != nil {
		return undo(fmt.Errorf("import %s: %w", opts.Name, err))
	}
	w.Close()
	if st := w.Stats(); st.Written != uint64(len(ids)) {
		return undo(fmt.Errorf("import %s: stored %d of %d exchanges (dropped: %v)", opts.Name, st.Written, len(ids), st.Dropped))
	}
	return len(ids), nil
}

// ImportFile is [Import] of the file at path; opts.Name defaults to path.
func ImportFile(ctx context.Context, db *store.DB, path string, opts ImportOptions) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if opts.Name == "" {
		opts.Name = path
	}
	return Import(ctx, db, f, opts)
}
