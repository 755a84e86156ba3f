// Package store holds bw's recordings: the exchange model every other
// package shares, and the bbolt file it lives in.
//
// # Basics
//
// [Open] a file, then write with a [Writer] (a [Sink]) and read with
// [DB.Scan] and [DB.Get]. Exchange ids sort by capture time, so a scan
// returns exchanges oldest first.
//
// # Durability
//
// A Writer commits batches in one goroutine (group commit). Each commit is a
// bbolt transaction, fsynced: a crash loses at most the batch being written,
// never the file. Every exchange that could not be stored is counted by reason
// in the file ([Info.Drops]).
//
// # Redaction
//
// Unless [WriterOptions.NoRedact] is set, secrets (credentials in headers,
// query parameters and JSON or form fields named like secrets) are replaced by
// a [Redactor] before they are written: "redacted:" and a short hash keyed by
// a random key kept in the file.
//
// # Caveats
//
// One process at a time may open a file; another gets [ErrInUse] after the
// lock timeout.
package store
