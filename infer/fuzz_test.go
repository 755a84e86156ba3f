package infer

import (
	"sort"
	"testing"

	"github.com/backworks/bw/store"
)

// FuzzBody: decoding and merging any body never panics, and the fast key
// scan of pass one agrees with the full decoder whenever it answers.
func FuzzBody(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"c":[1,2]},"d":"x\"y"}`, `[{"id":1},{"id":2}]`, `[]`, `"str"`,
		`{"a":"2024-05-01T10:00:00Z","e":"a@b.co","u":"https://x.y/z","t":"10:11:12"}`, `{"\u00e9":1}`, `{`} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte("a=1&b=2&b=3"), "application/x-www-form-urlencoded")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nhi\r\n--x--\r\n"), "multipart/form-data; boundary=x")
	f.Fuzz(func(t *testing.T, data []byte, ct string) {
		h := store.Header{{Name: "Content-Type", Value: ct}}
		d := decodeBody(h, &store.Body{Data: data, Size: int64(len(data))})
		s := newShape()
		s.add(d.value, 0)
		s.merge(s)
		(&schemaBuilder{v31: true}).schema(s, "x")
		if keys, ok := fastTopKeys(data); ok && d.kind == kindJSON && isJSONMedia(d.media) {
			full := topLevelKeys(d)
			sort.Strings(keys)
			sort.Strings(full)
			if len(d.raw) > 0 && len(full) > 0 && !equalSets(keys, full) {
				t.Fatalf("fast keys %q, full decode %q", keys, full)
			}
		}
	})
}

func equalSets(a, b []string) bool {
	ua, ub := map[string]bool{}, map[string]bool{}
	for _, k := range a {
		ua[k] = true
	}
	for _, k := range b {
		ub[k] = true
	}
	if len(ua) != len(ub) {
		return false
	}
	for k := range ua {
		if !ub[k] {
			return false
		}
	}
	return true
}

// FuzzSegment: classifying and naming path segments never panics.
func FuzzSegment(f *testing.F) {
	for _, s := range []string{"123", "v1", "2024-05-01", "ab12cd34", "findByStatus", "users", "550e8400-e29b-41d4-a716-446655440000", "10:11", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		classify(s)
		formatsOf(s)
		isDictionaryWord(s)
		singular(s)
		pascal(s)
		escapeSegment(s)
		root := newNode()
		root.insert([]string{"x", s}, nil).record("GET", 200, []string{s})
		root.resolve()
	})
}
