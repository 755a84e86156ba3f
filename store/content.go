package store

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
)

// ErrTooLarge is returned by [Decompress] when the output exceeds its limit.
var ErrTooLarge = errors.New("decompressed body exceeds the limit")

// Decompress undoes a content coding (gzip, x-gzip, deflate, br) of a body
// recorded as it went over the wire, reading at most limit bytes of output.
func Decompress(coding string, data []byte, limit int64) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = zr
	case "deflate":
		// RFC 9110 deflate is zlib-wrapped; some servers send raw deflate.
		if zr, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(data))
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("unsupported content coding %q", coding)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", coding, err)
	}
	if int64(len(out)) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}
