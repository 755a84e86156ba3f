package serve

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// exampleFromSchema makes a value valid against s, the same every time:
// the schema's own example, default, const or first enum value where it
// has one; else a value of its type that respects format, length, range,
// multipleOf, required properties and item counts. Patterns are not
// followed. Recursive schemas stop at their second visit.
func exampleFromSchema(s *openapi3.Schema) any {
	g := &exampleGen{onStack: map[*openapi3.Schema]int{}}
	return g.value(s, 0, 0)
}

type exampleGen struct {
	onStack map[*openapi3.Schema]int
}

const maxExampleDepth = 12

// value generates for s; variant makes items of a uniqueItems array differ.
func (g *exampleGen) value(s *openapi3.Schema, depth, variant int) any {
	if s == nil || depth > maxExampleDepth {
		return nil
	}
	if variant == 0 {
		switch {
		case s.Example != nil:
			return s.Example
		case len(s.Examples) > 0:
			return s.Examples[0]
		case s.Const != nil:
			return s.Const
		case s.Default != nil:
			return s.Default
		}
	}
	if len(s.Enum) > 0 {
		return s.Enum[variant%len(s.Enum)]
	}
	if g.onStack[s] >= 2 {
		return nil
	}
	g.onStack[s]++
	defer func() { g.onStack[s]-- }()

	if len(s.AllOf) > 0 {
		merged := map[string]any{}
		var other any
		for _, sub := range s.AllOf {
			v := g.value(sub.Value, depth+1, variant)
			if m, ok := v.(map[string]any); ok {
				maps.Copy(merged, m)
			} else if v != nil && other == nil {
				other = v
			}
		}
		if own := g.object(s, depth, variant); len(own) > 0 || len(merged) == 0 && other == nil {
			maps.Copy(merged, own)
		}
		if len(merged) > 0 || other == nil {
			return merged
		}
		return other
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) > 0 && alts[0].Value != nil {
			return g.value(alts[0].Value, depth+1, variant)
		}
	}

	switch schemaType(s) {
	case "null":
		return nil
	case "boolean":
		return variant%2 == 0
	case "integer":
		return int64(g.number(s, true, variant))
	case "number":
		return g.number(s, false, variant)
	case "string":
		return g.str(s, variant)
	case "array":
		return g.array(s, depth, variant)
	case "object":
		return g.object(s, depth, variant)
	}
	return nil
}

// schemaType is the type to generate: the first non-null type, else one
// inferred from the keywords present.
func schemaType(s *openapi3.Schema) string {
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			if t != "null" {
				return t
			}
		}
		if s.Type.Is("null") {
			return "null"
		}
	}
	switch {
	case len(s.Properties) > 0 || s.AdditionalProperties.Schema != nil:
		return "object"
	case s.Items != nil:
		return "array"
	case s.Format != "" || s.Pattern != "" || s.MinLength > 0 || s.MaxLength != nil:
		return "string"
	case s.Min != nil || s.Max != nil:
		return "number"
	}
	return "object"
}

func (g *exampleGen) number(s *openapi3.Schema, integer bool, variant int) float64 {
	lo, hi := math.Inf(-1), math.Inf(1)
	step := 0.0
	if integer {
		step = 1
	}
	if s.Min != nil {
		lo = *s.Min
		if s.ExclusiveMin.IsTrue() {
			lo += max(step, 1e-9)
		}
	}
	if s.ExclusiveMin.Value != nil {
		lo = max(lo, *s.ExclusiveMin.Value+max(step, 1e-9))
	}
	if s.Max != nil {
		hi = *s.Max
		if s.ExclusiveMax.IsTrue() {
			hi -= max(step, 1e-9)
		}
	}
	if s.ExclusiveMax.Value != nil {
		hi = min(hi, *s.ExclusiveMax.Value-max(step, 1e-9))
	}
	v := float64(variant)
	switch {
	case lo > math.Inf(-1) && v < lo:
		v = lo + float64(variant)
	case hi < math.Inf(1) && v > hi:
		v = hi - float64(variant)
	}
	if integer {
		v = math.Ceil(v)
		if v > hi {
			v = math.Floor(hi)
		}
	}
	if m := s.MultipleOf; m != nil && *m > 0 {
		v = math.Ceil(v / *m) * *m
		if v > hi {
			v -= *m
		}
	}
	return v
}

var formatExamples = map[string]string{
	"date-time":             "2024-01-01T00:00:00Z",
	"date":                  "2024-01-01",
	"time":                  "00:00:00Z",
	"duration":              "P1D",
	"email":                 "user@example.com",
	"idn-email":             "user@example.com",
	"hostname":              "example.com",
	"idn-hostname":          "example.com",
	"ipv4":                  "192.0.2.1",
	"ipv6":                  "2001:db8::1",
	"uri":                   "https://example.com/",
	"url":                   "https://example.com/",
	"iri":                   "https://example.com/",
	"uri-reference":         "/example",
	"iri-reference":         "/example",
	"uri-template":          "https://example.com/{id}",
	"uuid":                  "3fa85f64-5717-4562-b3fc-2c963f66afa6",
	"byte":                  "ZXhhbXBsZQ==",
	"binary":                "example",
	"password":              "********",
	"json-pointer":          "/example",
	"relative-json-pointer": "0/example",
	"regex":                 "^example$",
	"int32":                 "0",
	"int64":                 "0",
}

func (g *exampleGen) str(s *openapi3.Schema, variant int) string {
	v, ok := formatExamples[s.Format]
	if !ok {
		v = "string"
	}
	if variant > 0 {
		if s.Format == "uuid" {
			v = v[:len(v)-len(strconv.Itoa(variant))] + strconv.Itoa(variant)
		} else if !ok {
			v += strconv.Itoa(variant)
		}
	}
	if n := int(s.MinLength); len(v) < n {
		v += strings.Repeat("x", n-len(v))
	}
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v
}

func (g *exampleGen) array(s *openapi3.Schema, depth, variant int) []any {
	n := max(int(s.MinItems), 1)
	if s.MaxItems != nil && uint64(n) > *s.MaxItems {
		n = int(*s.MaxItems)
	}
	out := make([]any, 0, n)
	for i := range n {
		var item *openapi3.Schema
		if i < len(s.PrefixItems) {
			item = s.PrefixItems[i].Value
		} else if s.Items != nil {
			item = s.Items.Value
		}
		if item == nil {
			out = append(out, "string")
			continue
		}
		v := variant
		if s.UniqueItems || i > 0 {
			v = variant + i
		}
		out = append(out, g.value(item, depth+1, v))
	}
	return out
}

func (g *exampleGen) object(s *openapi3.Schema, depth, variant int) map[string]any {
	out := map[string]any{}
	names := slices.Sorted(maps.Keys(s.Properties))
	recursive := g.onStack[s] > 1
	for _, name := range names {
		ref := s.Properties[name]
		if ref == nil || ref.Value == nil || ref.Value.WriteOnly {
			continue
		}
		if recursive && !slices.Contains(s.Required, name) {
			continue
		}
		out[name] = g.value(ref.Value, depth+1, variant)
	}
	for _, name := range s.Required {
		if _, ok := out[name]; !ok {
			out[name] = "string"
		}
	}
	if extra := s.AdditionalProperties.Schema; extra != nil && extra.Value != nil {
		for i := len(out); uint64(i) < s.MinProps; i++ {
			out["property"+strconv.Itoa(i+1)] = g.value(extra.Value, depth+1, variant)
		}
	}
	return out
}
