package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/backworks/bw/store"
)

// maxBody caps a live response body and any decompressed body.
const maxBody = 32 << 20

// body is a message body decoded for comparison.
type body struct {
	media  string // media type, lower case, without parameters
	data   []byte // without content coding
	value  any    // the parsed document, when isJSON
	isJSON bool
	err    error // why data or value could not be had
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	m, _, err := mime.ParseMediaType(ct)
	if err != nil {
		m, _, _ = strings.Cut(ct, ";")
	}
	return strings.ToLower(strings.TrimSpace(m))
}

func isJSONMedia(m string) bool {
	return m == "application/json" || m == "text/json" || strings.HasSuffix(m, "+json")
}

// decodeStored decodes a recorded body: undoes the content coding unless
// the recording holds it decoded already, and parses JSON.
func decodeStored(h store.Header, b *store.Body) body {
	data := b.Data
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	d := body{media: mediaType(h.Get("Content-Type"))}
	if enc != "" && enc != "identity" && b.Decoded == "" && len(data) > 0 {
		out, err := store.Decompress(enc, data, maxBody)
		if err != nil {
			d.err = err
			return d
		}
		data = out
	}
	d.data = data
	d.parse()
	return d
}

// decodeLive decodes a live body the same way.
func decodeLive(ct, enc string, data []byte) body {
	d := body{media: mediaType(ct)}
	enc = strings.ToLower(strings.TrimSpace(enc))
	if enc != "" && enc != "identity" && len(data) > 0 {
		out, err := store.Decompress(enc, data, maxBody)
		if err != nil {
			d.err = err
			return d
		}
		data = out
	}
	d.data = data
	d.parse()
	return d
}

func (d *body) parse() {
	if len(d.data) == 0 || !isJSONMedia(d.media) {
		return
	}
	d.value, d.err = parseJSON(d.data)
	d.isJSON = d.err == nil
}

var errTrailing = errors.New("data after the JSON value")

// parseJSON decodes one JSON document with numbers kept as json.Number.
func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}
