package infer

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/backworks/bw/store"
	"golang.org/x/text/encoding/htmlindex"
)

// maxDecoded caps a decompressed body, against compression bombs.
const maxDecoded = 32 << 20

// bodyKind says how a body was understood.
type bodyKind uint8

const (
	kindEmpty  bodyKind = iota
	kindJSON            // value holds the decoded document
	kindForm            // value holds map[string]any of strings (arrays for repeats)
	kindText            // XML, HTML, plain text: a string
	kindBinary          // anything else
)

// decoded is a body as inference sees it.
type decoded struct {
	media string // media type without parameters, lower case
	kind  bodyKind
	value any
	raw   []byte // the decoded bytes, for examples
}

// decodeBody undoes content coding and charset and parses JSON and forms
// (rule 3). It never fails: what cannot be read is binary.
func decodeBody(h store.Header, b *store.Body) decoded {
	if len(b.Data) == 0 {
		return decoded{kind: kindEmpty}
	}
	data := b.Data
	if enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); !noCoding(enc) && b.Decoded == "" {
		out, err := store.Decompress(enc, data, maxDecoded)
		switch {
		case err == nil:
			data = out
		case !looksJSON(data):
			return decoded{media: mediaType(h), kind: kindBinary}
		}
		// An unknown or bogus coding ("null", "none", garbage) on a body
		// that is JSON as it stands: the coding is a mislabel (rule 3).
	}
	ct := h.Get("Content-Type")
	media, params, _ := mime.ParseMediaType(ct)
	media = strings.ToLower(media)
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if enc, err := htmlindex.Get(cs); err == nil {
			if out, err := enc.NewDecoder().Bytes(data); err == nil {
				data = out
			}
		}
	}
	d := decoded{media: media, raw: data}
	switch {
	case isJSONMedia(media) || (!b.Truncated && sniffJSON(media, data)):
		if v, ok := parseJSON(data); ok {
			if media == "" || !isJSONMedia(media) {
				d.media = "application/json"
			}
			d.kind, d.value = kindJSON, v
			return d
		}
	case media == "application/x-www-form-urlencoded":
		if vals, err := url.ParseQuery(string(data)); err == nil {
			d.kind, d.value = kindForm, formValue(vals)
			return d
		}
	case strings.HasPrefix(media, "multipart/form-data"):
		if v, ok := parseMultipart(data, params["boundary"]); ok {
			d.kind, d.value = kindForm, v
			return d
		}
	}
	if isTextMedia(media) || (media == "" && utf8.Valid(data) && !bytes.ContainsRune(data, 0)) {
		if media == "" {
			d.media = "text/plain"
		}
		d.kind, d.value = kindText, string(data)
		return d
	}
	if d.media == "" {
		d.media = "application/octet-stream"
	}
	d.kind = kindBinary
	return d
}

func mediaType(h store.Header) string {
	m, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return strings.ToLower(m)
}

func isJSONMedia(m string) bool {
	return m == "application/json" || strings.HasSuffix(m, "+json") || m == "text/json"
}

func isTextMedia(m string) bool {
	return strings.HasPrefix(m, "text/") || strings.HasSuffix(m, "+xml") || m == "application/xml" ||
		m == "application/javascript" || m == "application/x-yaml" || m == "application/yaml"
}

// noCoding reports a Content-Encoding value that names no coding.
func noCoding(enc string) bool {
	switch enc {
	case "", "identity", "null", "none", "undefined", "utf-8", "utf8", "binary", "8bit", "7bit":
		return true
	}
	return false
}

// looksJSON reports a body that starts like a JSON object or array and
// parses as one.
func looksJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 || t[0] != '{' && t[0] != '[' {
		return false
	}
	_, ok := parseJSON(t)
	return ok
}

// sniffJSON accepts JSON in mislabelled bodies (text/plain, none, octet-stream).
func sniffJSON(media string, data []byte) bool {
	if media != "" && media != "text/plain" && media != "application/octet-stream" && !strings.HasPrefix(media, "text/html") {
		return false
	}
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

func parseJSON(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data: not one JSON document
	}
	return v, true
}

func formValue(vals url.Values) map[string]any {
	m := make(map[string]any, len(vals))
	for k, vs := range vals {
		if len(vs) == 1 {
			m[k] = scalar(vs[0])
			continue
		}
		arr := make([]any, len(vs))
		for i, v := range vs {
			arr[i] = scalar(v)
		}
		m[k] = arr
	}
	return m
}

// binaryMarker stands for a file part of a multipart body.
type binaryMarker struct{}

func parseMultipart(data []byte, boundary string) (map[string]any, bool) {
	if boundary == "" {
		return nil, false
	}
	r := multipart.NewReader(bytes.NewReader(data), boundary)
	m := map[string]any{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return m, true
		}
		if err != nil {
			return nil, false
		}
		name := p.FormName()
		if name == "" {
			continue
		}
		if p.FileName() != "" {
			m[name] = binaryMarker{}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, 1<<20))
		if err != nil {
			return nil, false
		}
		if j, ok := parseJSON(v); ok && isJSONMedia(strings.ToLower(p.Header.Get("Content-Type"))) {
			m[name] = j
		} else {
			m[name] = string(v)
		}
	}
}

// fastTopKeys returns the keys of a JSON object body, or "[]" and the keys
// of the first element of an array body, without building the document:
// pass one only needs these to compare siblings. ok is false when the body
// is not plain JSON (then the caller decodes it in full).
func fastTopKeys(data []byte) (keys []string, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return nil, false
	}
	if data[i] == '[' {
		keys = append(keys, "[]")
		i = skipSpace(data, i+1)
		if i >= len(data) || data[i] != '{' {
			return keys, true
		}
	} else if data[i] != '{' {
		return nil, false
	}
	depth := 0
	for ; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return keys, true
			}
		case '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(data) {
				return nil, false
			}
			if depth == 1 {
				k := skipSpace(data, j+1)
				if k < len(data) && data[k] == ':' {
					key := data[i+1 : j]
					if bytes.IndexByte(key, '\\') >= 0 {
						return nil, false
					}
					keys = append(keys, string(key))
				}
			}
			i = j
		}
	}
	return nil, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}
