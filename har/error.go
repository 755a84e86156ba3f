package har

import (
	"errors"
	"strconv"
	"strings"
)

// Errors wrapped by [*Error], for errors.Is.
var (
	// ErrTruncated: the input ended before the HAR document did.
	ErrTruncated = errors.New("unexpected end of JSON input")
	// ErrNotHAR: the input is JSON, but not shaped like a HAR document
	// (no log, no log.entries, or the wrong JSON type in their place).
	ErrNotHAR = errors.New("not a HAR file")
	// ErrInvalid: an entry has a field of the wrong type or value; Field
	// names it.
	ErrInvalid = errors.New("invalid entry")
)

// Error is the only error type the HAR reader returns (besides a context's
// error when an import is cancelled). Its message names the file, the entry
// index and the byte offset where they are known:
//
//	capture.har: entry 17 (byte 48213): response.status: not a number
//	capture.har: byte 1024: unexpected end of JSON input
type Error struct {
	Name   string // file name given to the reader; may be empty
	Offset int64  // byte offset of the problem (of the entry for field errors); -1 if unknown
	Entry  int    // 0-based index in log.entries; -1 outside the entries
	Field  string // path of the bad field inside the entry, like "response.status"
	Msg    string // what is wrong, when Err does not say it
	Err    error  // the underlying error or one of the sentinels above
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Name != "" {
		b.WriteString(e.Name)
		b.WriteString(": ")
	}
	switch {
	case e.Entry >= 0 && e.Offset >= 0:
		b.WriteString("entry " + strconv.Itoa(e.Entry) + " (byte " + strconv.FormatInt(e.Offset, 10) + "): ")
	case e.Entry >= 0:
		b.WriteString("entry " + strconv.Itoa(e.Entry) + ": ")
	case e.Offset >= 0:
		b.WriteString("byte " + strconv.FormatInt(e.Offset, 10) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	switch {
	case e.Msg != "":
		b.WriteString(e.Msg)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("invalid HAR")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// fieldError is what entry parsing returns; the reader turns it into an
// *Error with the entry's position.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }
