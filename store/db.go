package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors returned by [Open] and [DB.Get].
var (
	// ErrInUse is returned by Open when another process holds the file.
	ErrInUse = errors.New("database is in use by another process")
	// ErrNotBW is returned by Open for a file that is not a bw database.
	ErrNotBW = errors.New("not a bw database")
	// ErrNewer is returned by Open for a database written by a newer bw.
	ErrNewer = errors.New("database was written by a newer bw")
	// ErrNotExist is returned by Open in read-only mode when there is no file.
	ErrNotExist = errors.New("no recordings")
	// ErrNotFound is returned by Get for an unknown id.
	ErrNotFound = errors.New("exchange not found")
)

// schemaVersion is the version of the bucket layout this bw writes.
const schemaVersion = 1

// migrations[v] upgrades a database from schema version v to v+1. Open runs
// every step from the file's version to schemaVersion in one transaction.
var migrations = map[uint64]func(tx *bolt.Tx) error{}

var (
	bucketMeta      = []byte("meta")
	bucketExchanges = []byte("exchanges")
	bucketByHost    = []byte("by_host") // lower(host) 0 METHOD 0 id -> nil
	bucketDrops     = []byte("drops")   // reason -> uint64 count

	keyVersion   = []byte("schema_version")
	keyRedactKey = []byte("redact_key")
)

// Options configures [Open]; the zero value is a writable database with a
// one-second lock timeout.
type Options struct {
	// ReadOnly opens the file without writing to it; it must exist.
	ReadOnly bool
	// Timeout is how long to wait for another process to release the file.
	Timeout time.Duration
}

// DB is a bw recordings file. It is safe for concurrent use.
type DB struct {
	bolt      *bolt.DB
	path      string
	redactKey []byte
}

// Open opens or creates the recordings file at path.
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if o.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", path, ErrNotExist)
		}
	}
	if !o.ReadOnly {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && fi.Size() < 4096 {
			// bbolt would "repair" a short file by overwriting it.
			return nil, fmt.Errorf("open %s: %w", path, ErrNotBW)
		}
	}
	b, err := bolt.Open(path, 0o644, &bolt.Options{
		Timeout:        o.Timeout,
		ReadOnly:       o.ReadOnly,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w", path, ErrInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("open %s: %w", path, ErrNotBW)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if err := db.init(o.ReadOnly); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// init checks the schema version, creating or migrating the layout.
func (db *DB) init(readOnly bool) error {
	// check returns the file's schema version, 0 for a new file.
	check := func(tx *bolt.Tx) (version uint64, err error) {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return 0, ErrNotBW
			}
			return 0, nil
		}
		v := meta.Get(keyVersion)
		if len(v) != 8 {
			return 0, ErrNotBW
		}
		version = binary.BigEndian.Uint64(v)
		if version > schemaVersion {
			return 0, fmt.Errorf("%w (schema %d, this bw reads up to %d)", ErrNewer, version, schemaVersion)
		}
		db.redactKey = bytes.Clone(meta.Get(keyRedactKey))
		return version, nil
	}
	if readOnly {
		return db.bolt.View(func(tx *bolt.Tx) error {
			v, err := check(tx)
			if err == nil && v != schemaVersion {
				err = fmt.Errorf("database has schema %d; open it once with a writing command to upgrade", v)
			}
			return err
		})
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		v, err := check(tx)
		if err != nil {
			return err
		}
		if v == schemaVersion {
			return nil
		}
		if tx.Bucket(bucketMeta) != nil {
			for ; v < schemaVersion; v++ {
				step, ok := migrations[v]
				if !ok {
					return fmt.Errorf("no migration from schema %d", v)
				}
				if err := step(tx); err != nil {
					return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
				}
			}
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketExchanges, bucketByHost, bucketDrops} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if meta.Get(keyRedactKey) == nil {
			key := make([]byte, 32)
			rand.Read(key)
			if err := meta.Put(keyRedactKey, key); err != nil {
				return err
			}
			db.redactKey = key
		}
		return meta.Put(keyVersion, binary.BigEndian.AppendUint64(nil, schemaVersion))
	})
}

// Redactor returns the redactor whose placeholders match those the file's
// writers produce, for callers that redact data outside exchanges.
func (db *DB) Redactor() *Redactor { return NewRedactor(db.redactKey) }

// Path returns the file name the database was opened with.
func (db *DB) Path() string { return db.path }

// Close closes the file. Writers must be closed first.
func (db *DB) Close() error { return db.bolt.Close() }

// Get returns the exchange with the given id, or [ErrNotFound].
func (db *DB) Get(id ID) (*Exchange, error) {
	ex := new(Exchange)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketExchanges).Get(id[:])
		if v == nil {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		return decodeExchange(v, ex)
	})
	if err != nil {
		return nil, err
	}
	return ex, nil
}

// Filter selects exchanges in [DB.Scan]; empty fields match everything.
type Filter struct {
	Host   string // exact host, ignoring case
	Method string // exact method, ignoring case
}

// releaseEvery is how many exchanges a scan reads between releasing the
// file pages it has mapped (see releasePages).
const releaseEvery = 32 << 10

// Scan calls fn for every exchange that matches f, in capture order. It stops
// at the first error from fn (returned as is) or when ctx is done. fn may keep
// the exchange.
func (db *DB) Scan(ctx context.Context, f Filter, fn func(*Exchange) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		exs := tx.Bucket(bucketExchanges)
		i := 0
		visit := func(v []byte) error {
			if i++; i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if i%releaseEvery == 0 {
					releasePages(db.bolt, tx.Size())
				}
			}
			ex := new(Exchange)
			if err := decodeExchange(v, ex); err != nil {
				return err
			}
			if f.Method != "" && !strings.EqualFold(ex.Request.Method, f.Method) {
				return nil
			}
			return fn(ex)
		}
		if f.Host == "" {
			c := exs.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if err := visit(v); err != nil {
					return err
				}
			}
			return nil
		}
		return db.scanHost(tx, f, visit)
	})
}

// scanHost visits one host's exchanges through the by_host index, merging
// the per-method runs so that capture order holds.
func (db *DB) scanHost(tx *bolt.Tx, f Filter, visit func([]byte) error) error {
	prefix := append([]byte(strings.ToLower(f.Host)), 0)
	if f.Method != "" {
		prefix = append(append(prefix, strings.ToUpper(f.Method)...), 0)
	}
	var ids [][]byte
	c := tx.Bucket(bucketByHost).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, k[len(k)-16:])
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i], ids[j]) < 0 })
	exs := tx.Bucket(bucketExchanges)
	for _, id := range ids {
		if v := exs.Get(id); v != nil {
			if err := visit(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes the exchanges with the given ids; unknown ids are ignored.
func (db *DB) Delete(ids []ID) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		exs, idx := tx.Bucket(bucketExchanges), tx.Bucket(bucketByHost)
		for _, id := range ids {
			v := exs.Get(id[:])
			if v == nil {
				continue
			}
			var ex Exchange
			if err := decodeExchange(v, &ex); err == nil {
				if err := idx.Delete(hostKey(&ex)); err != nil {
					return err
				}
			}
			if err := exs.Delete(id[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

func hostKey(ex *Exchange) []byte {
	k := make([]byte, 0, len(ex.Request.Host)+len(ex.Request.Method)+18)
	k = append(k, strings.ToLower(ex.Request.Host)...)
	k = append(k, 0)
	k = append(k, strings.ToUpper(ex.Request.Method)...)
	k = append(k, 0)
	return append(k, ex.ID[:]...)
}

// Info is what [DB.Info] reports about the file.
type Info struct {
	Exchanges int
	FileSize  int64
	// Drops counts exchanges that were seen but not stored, by reason, over
	// the life of the file.
	Drops map[string]uint64
}

// Info returns the number of exchanges, the file size and the drop counters.
func (db *DB) Info() (Info, error) {
	var info Info
	err := db.bolt.View(func(tx *bolt.Tx) error {
		info.Exchanges = tx.Bucket(bucketExchanges).Stats().KeyN
		info.FileSize = tx.Size()
		releasePages(db.bolt, tx.Size()) // Stats touched every page
		info.Drops = map[string]uint64{}
		return tx.Bucket(bucketDrops).ForEach(func(k, v []byte) error {
			if len(v) == 8 {
				info.Drops[string(k)] = binary.BigEndian.Uint64(v)
			}
			return nil
		})
	})
	return info, err
}

// addDrops adds counts to the persistent drop counters inside tx.
func addDrops(tx *bolt.Tx, counts map[string]uint64) error {
	b := tx.Bucket(bucketDrops)
	for reason, n := range counts {
		var cur uint64
		if v := b.Get([]byte(reason)); len(v) == 8 {
			cur = binary.BigEndian.Uint64(v)
		}
		if err := b.Put([]byte(reason), binary.BigEndian.AppendUint64(nil, cur+n)); err != nil {
			return err
		}
	}
	return nil
}
