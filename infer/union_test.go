package infer

import (
	"fmt"
	"strings"
	"testing"
)

// eventsDoc infers GET /events answering one object per call.
func eventsDoc(t *testing.T, bodies []string) (any, string) {
	t.Helper()
	var exs []ex
	for _, b := range bodies {
		exs = append(exs, ex{method: "GET", path: "/events", resp: b})
	}
	doc, out := openapi(t, exs, Options{})
	return deref(doc, dig(doc, "paths", "/events", "get", "responses", "200", "content", "application/json", "schema")), out
}

// TestObjectVariantsAreNotMaps: rule 15. Variants of one object type with
// their own key sets (28 keys in all, each under half the instances) are one
// object with optional keys, not a map.
func TestObjectVariantsAreNotMaps(t *testing.T) {
	var bodies []string
	for i := range 30 {
		kind := []string{"a", "b", "c"}[i%3]
		kv := []string{fmt.Sprintf(`"kind":"%s"`, kind)}
		for j := range 9 {
			kv = append(kv, fmt.Sprintf(`"%s_field%d":%d`, kind, j, i))
		}
		bodies = append(bodies, "{"+strings.Join(kv, ",")+"}")
	}
	s, out := eventsDoc(t, bodies)
	if dig(s, "additionalProperties") != nil || dig(s, "properties", "b_field3", "type") != "integer" {
		t.Fatalf("variants became a map:\n%s", out)
	}
	if req := fmt.Sprint(dig(s, "required")); req != "[kind]" {
		t.Errorf("required = %s, want [kind]", req)
	}
}

// TestMapsNeedIDLikeOrRareKeys: objects keyed by ids, or by many keys each
// seen in hardly any instance, are maps; with too few instances, records.
func TestMapsNeedIDLikeOrRareKeys(t *testing.T) {
	var bodies []string
	for i := range 10 {
		var kv []string
		for j := range 3 {
			kv = append(kv, fmt.Sprintf(`"user%c%c":{"score":%d}`, 'a'+i, 'a'+j, j))
		}
		bodies = append(bodies, "{"+strings.Join(kv, ",")+"}")
	}
	s, out := eventsDoc(t, bodies)
	if dig(s, "additionalProperties", "properties", "score", "type") != "integer" {
		t.Errorf("30 keys each seen once in 10 instances: not a map:\n%s", out)
	}

	s, out = eventsDoc(t, []string{`{"1":{"n":1}}`, `{"17":{"n":2},"42":{"n":3}}`})
	if dig(s, "additionalProperties") == nil {
		t.Errorf("integer keys: not a map:\n%s", out)
	}

	s, out = eventsDoc(t, bodies[:3])
	if dig(s, "additionalProperties") != nil {
		t.Errorf("three instances are too few to call word keys a map:\n%s", out)
	}
}
