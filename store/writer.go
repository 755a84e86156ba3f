package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sink receives recorded exchanges. Capture sources write to a Sink and never
// to a database directly, so that another backend (a message queue, say) can
// take the store's place.
//
// Write may be called from many goroutines at once. It may return before the
// exchange is durable; a Sink that cannot take an exchange counts it as
// dropped (see [Writer.Stats]) and returns an error. Write takes ownership of
// ex: the caller must not touch it afterwards.
type Sink interface {
	Write(ctx context.Context, ex *Exchange) error
}

var _ Sink = (*Writer)(nil)

// ErrClosed is returned by [Writer.Write] after [Writer.Close].
var ErrClosed = errors.New("writer is closed")

// Drop reasons counted by a [Writer].
const (
	DropQueueFull  = "queue_full"  // the writer could not keep up before the caller gave up
	DropStoreError = "store_error" // the database refused a batch (disk full, ...)
	DropClosed     = "closed"      // written after Close
)

// WriterOptions configures [DB.NewWriter]; the zero value redacts secrets,
// queues up to 8192 exchanges and commits up to 2048 per transaction.
type WriterOptions struct {
	NoRedact  bool // store secrets as they were recorded
	QueueSize int
	MaxBatch  int
	Logger    *slog.Logger // nil discards
}

// lingerFor is how long a busy writer waits for a batch to fill.
const lingerFor = time.Millisecond

// releaseBytes is how much a writer commits between releasing the file pages
// it has mapped (see releasePages).
const releaseBytes = 4 << 20

// Writer stores exchanges in batches: one goroutine owns the database
// transaction and commits whatever has queued up since the last commit
// (group commit), so recording speed is not bound by one fsync per exchange.
type Writer struct {
	db       *DB
	opts     WriterOptions
	redactor *Redactor
	ids      IDGen
	log      *slog.Logger

	queue chan *request
	done  chan struct{}

	mu     sync.RWMutex // guards closed against Write racing Close
	closed bool

	sinceRelease int // bytes committed since mapped pages were last released (loop only)

	written atomic.Uint64
	dropMu  sync.Mutex
	drops   map[string]uint64 // since the writer started
	pending map[string]uint64 // not yet persisted
}

// request is one queue entry: an exchange, or a flush marker (ex == nil).
type request struct {
	ex    *Exchange
	flush chan error
}

// NewWriter starts a writer; call Close to flush and stop it.
func (db *DB) NewWriter(opts WriterOptions) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2048
	}
	w := &Writer{
		db:      db,
		opts:    opts,
		log:     opts.Logger,
		queue:   make(chan *request, opts.QueueSize),
		done:    make(chan struct{}),
		drops:   map[string]uint64{},
		pending: map[string]uint64{},
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if !opts.NoRedact {
		w.redactor = NewRedactor(db.redactKey)
	}
	go w.loop()
	return w
}

// Write queues ex for storage. It blocks while the queue is full until ctx is
// done, then drops ex and counts it under [DropQueueFull].
func (w *Writer) Write(ctx context.Context, ex *Exchange) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.Drop(DropClosed, 1)
		return ErrClosed
	}
	if ex.ID.IsZero() {
		ex.ID = w.ids.New(ex.Start)
	}
	r := &request{ex: ex}
	select {
	case w.queue <- r:
		return nil
	default:
	}
	select {
	case w.queue <- r:
		return nil
	case <-ctx.Done():
		w.Drop(DropQueueFull, 1)
		return fmt.Errorf("store exchange %s: %w", ex.ID, context.Cause(ctx))
	}
}

// Drop counts n exchanges that were lost for reason before reaching the
// writer, so that the loss shows in the database's counters.
func (w *Writer) Drop(reason string, n uint64) {
	w.dropMu.Lock()
	w.drops[reason] += n
	w.pending[reason] += n
	w.dropMu.Unlock()
}

// Flush waits until every exchange queued before the call is committed.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	r := &request{flush: make(chan error, 1)}
	select {
	case w.queue <- r:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case err := <-r.flush:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what is queued and stops the writer. It does not close the
// database.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()
	<-w.done
	return nil
}

// WriterStats reports what a writer has done since it started.
type WriterStats struct {
	Written uint64
	Dropped map[string]uint64
}

// Stats returns the number of exchanges committed and dropped so far.
func (w *Writer) Stats() WriterStats {
	w.dropMu.Lock()
	defer w.dropMu.Unlock()
	d := make(map[string]uint64, len(w.drops))
	for k, v := range w.drops {
		d[k] = v
	}
	return WriterStats{Written: w.written.Load(), Dropped: d}
}

func (w *Writer) loop() {
	defer close(w.done)
	batch := make([]*request, 0, w.opts.MaxBatch)
	var buf []byte
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for r := range w.queue {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < w.opts.MaxBatch {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		// More than one waiting means writers are busy: a moment's wait
		// fills the batch and saves commits (each one an fsync).
		if len(batch) > 1 && len(batch) < w.opts.MaxBatch {
			linger.Reset(lingerFor)
		fill:
			for len(batch) < w.opts.MaxBatch {
				select {
				case r, ok := <-w.queue:
					if !ok {
						break fill
					}
					batch = append(batch, r)
				case <-linger.C:
					break fill
				}
			}
			linger.Stop()
		}
		buf = w.commit(batch, buf)
	}
	// Drops counted after the last batch still reach the file.
	w.commit(nil, buf)
}

// commit stores one batch in one transaction and answers its flush markers.
func (w *Writer) commit(batch []*request, buf []byte) []byte {
	w.dropMu.Lock()
	drops := w.pending
	w.pending = map[string]uint64{}
	w.dropMu.Unlock()

	n := 0
	buf = buf[:0]
	start := time.Now()
	var size int64
	err := w.db.bolt.Update(func(tx *bolt.Tx) error {
		size = tx.Size()
		exs, idx := tx.Bucket(bucketExchanges), tx.Bucket(bucketByHost)
		exs.FillPercent = 0.95 // ids mostly arrive in order
		for _, r := range batch {
			if r.ex == nil {
				continue
			}
			if w.redactor != nil {
				w.redactor.Exchange(r.ex)
			}
			// bbolt keeps value slices until commit: encode into an arena
			// that is only reused for the next batch.
			off := len(buf)
			buf = encodeExchange(buf, r.ex)
			if err := exs.Put(r.ex.ID[:], buf[off:len(buf):len(buf)]); err != nil {
				return err
			}
			if err := idx.Put(hostKey(r.ex), nil); err != nil {
				return err
			}
			n++
		}
		if len(drops) > 0 {
			return addDrops(tx, drops)
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("store %d exchanges: %w", n, err)
		w.log.Error("commit failed", "err", err, "exchanges", n)
		w.dropMu.Lock()
		w.drops[DropStoreError] += uint64(n)
		for k, v := range drops { // try again with the next batch
			w.pending[k] += v
		}
		w.pending[DropStoreError] += uint64(n)
		w.dropMu.Unlock()
	} else {
		w.written.Add(uint64(n))
		w.log.Debug("committed", "exchanges", n, "took", time.Since(start))
		// Keep resident memory flat however large the file grows.
		if w.sinceRelease += len(buf); w.sinceRelease >= releaseBytes {
			releasePages(w.db.bolt, size)
			w.sinceRelease = 0
		}
	}
	for _, r := range batch {
		if r.flush != nil {
			r.flush <- err
		}
	}
	return buf
}
