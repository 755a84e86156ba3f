package main

import (
	"errors"
	"fmt"

	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

// openDB opens the --db file, turning the store's errors into what a user
// can act on.
func openDB(c *cli.Context, readOnly bool) (*store.DB, error) {
	path := dbPath(c)
	if path == "-" || path == "" {
		// A database is random access: it cannot be a pipe.
		return nil, usageError("the recordings file (--db or BW_DB) must be a file path, e.g. bw.db (got %q)", path)
	}
	db, err := store.Open(path, &store.Options{ReadOnly: readOnly})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, store.ErrInUse):
		return nil, fmt.Errorf("%s is in use by another process (is bw capture running?)", path)
	case errors.Is(err, store.ErrNotExist):
		return nil, fmt.Errorf("%s does not exist; record with 'bw capture' or 'bw import', or name another file with --db", path)
	case errors.Is(err, store.ErrNotBW):
		return nil, fmt.Errorf("%s is not a bw recordings file", path)
	}
	return nil, err
}

// dbPath is the recordings file: --db wherever it was written (run moves
// it before the command), else BW_DB, else ./bw.db. Every command asks here.
func dbPath(c *cli.Context) string {
	return c.String("db")
}
