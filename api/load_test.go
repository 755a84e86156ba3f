package api

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata/load")

// TestLoadGolden loads each file in testdata/load and compares what bw
// validate would print, plus a summary of the Doc, with NAME.golden.
func TestLoadGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/load/*")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") || strings.HasSuffix(f, ".md") {
			continue
		}
		n++
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			got := report(f)
			golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./api -run TestLoadGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (-update rewrites it):\n--- got\n%s\n--- want\n%s", name, golden, got, want)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d inputs in testdata/load", n)
	}
}

// report is what bw validate prints for path, then a summary of the Doc.
func report(path string) string {
	var b strings.Builder
	doc, err := Load(path)
	if err != nil {
		var ps Problems
		if !errors.As(err, &ps) {
			return fmt.Sprintf("error of type %T: %v\n", err, err)
		}
		for _, p := range ps {
			fmt.Fprintln(&b, p.Error())
		}
		return b.String()
	}
	for _, w := range doc.Warnings {
		fmt.Fprintln(&b, w.Error())
	}
	fmt.Fprintf(&b, "%s: ok (%d endpoints)\n", path, len(doc.Endpoints))
	b.WriteString("----------\n")
	dumpDoc(&b, doc)
	return b.String()
}

func dumpDoc(b *strings.Builder, d *Doc) {
	fmt.Fprintf(b, "name=%q version=%q mode=%s", d.Name, d.Version, d.Mode)
	if d.Server != (Server{}) {
		fmt.Fprintf(b, " server=%s:%d", d.Server.Host, d.Server.Port)
	}
	if d.Recordings != "" {
		fmt.Fprintf(b, " recordings=%s", d.Recordings)
	}
	b.WriteString("\n")
	v := d.Security.Validation
	fmt.Fprintf(b, "validation requests=%s responses=%s max_body=%d\n", v.Requests, v.Responses, v.MaxBodySize)
	if rl := d.Security.RateLimit; rl != nil {
		fmt.Fprintf(b, "rate_limit %s\n", rateLimitString(rl))
	}
	if c := d.CORS; c != nil {
		fmt.Fprintf(b, "cors origins=%v methods=%v headers=%v expose=%v credentials=%v max_age=%s\n",
			c.AllowOrigins, c.AllowMethods, c.AllowHeaders, c.ExposeHeaders, c.AllowCredentials, c.MaxAge)
	}
	if len(d.Headers) > 0 {
		fmt.Fprintf(b, "headers %s\n", mapString(d.Headers))
	}
	if len(d.Hints) > 0 {
		fmt.Fprintf(b, "hints %q\n", d.Hints)
	}
	if len(d.Test.NoiseBody)+len(d.Test.NoiseHeaders) > 0 {
		fmt.Fprintf(b, "noise body=%q headers=%q\n", d.Test.NoiseBody, d.Test.NoiseHeaders)
	}
	if d.OpenAPI != nil {
		ops := 0
		for _, item := range d.OpenAPI.Paths.Map() {
			ops += len(item.Operations())
		}
		schemas := 0
		if d.OpenAPI.Components != nil {
			schemas = len(d.OpenAPI.Components.Schemas)
		}
		fmt.Fprintf(b, "openapi %s: %d paths, %d operations, %d component schemas\n", d.OpenAPI.OpenAPI, d.OpenAPI.Paths.Len(), ops, schemas)
	}
	for _, e := range d.Endpoints {
		methods := strings.Join(e.Methods, ",")
		if methods == "" {
			methods = "*"
		}
		fmt.Fprintf(b, "%d:%d %s: %s %s %s", e.Pos.Line, e.Pos.Col, e.Name, e.Mode, methods, e.Path)
		if e.Samples > 0 {
			fmt.Fprintf(b, " samples=%d", e.Samples)
		}
		if len(e.Security) > 0 {
			fmt.Fprintf(b, " security=%v", e.Security)
		}
		b.WriteString("\n")
		if e.Description != "" {
			fmt.Fprintf(b, "  description %q\n", e.Description)
		}
		for _, p := range e.Parameters {
			fmt.Fprintf(b, "  param %s %s required=%v schema=%s\n", p.In, p.Name, p.Required, schemaString(p.Schema))
		}
		if r := e.Request; r != nil {
			fmt.Fprintf(b, "  request %s required=%v schema=%s\n", r.ContentType, r.Required, schemaString(r.Schema))
		}
		codes := make([]int, 0, len(e.Responses))
		for c := range e.Responses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			r := e.Responses[c]
			fmt.Fprintf(b, "  response %d %s schema=%s", c, r.ContentType, schemaString(r.Schema))
			for _, h := range sortedKeys(r.Headers) {
				fmt.Fprintf(b, " header[%s]=%s", h, schemaString(r.Headers[h]))
			}
			if r.HasExample {
				fmt.Fprintf(b, " example=%s", short(r.Example))
			}
			b.WriteString("\n")
		}
		for _, k := range sortedKeys(e.Mock) {
			m := e.Mock[k]
			fmt.Fprintf(b, "  mock %q status=%d", k, m.Status)
			if len(m.Headers) > 0 {
				fmt.Fprintf(b, " headers=%s", mapString(m.Headers))
			}
			fmt.Fprintf(b, " body=%s\n", short(m.Body))
		}
		if px := e.Proxy; px != nil {
			fmt.Fprintf(b, "  proxy lb=%s strip=%q timeout=%s", px.LoadBalancing, px.StripPrefix, px.Timeout)
			if len(px.Headers) > 0 {
				fmt.Fprintf(b, " headers=%s", mapString(px.Headers))
			}
			b.WriteString("\n")
			for _, tg := range px.Targets {
				fmt.Fprintf(b, "    target %s %s weight=%d", tg.Name, tg.URL, tg.Weight)
				if hc := tg.HealthCheck; hc != nil {
					fmt.Fprintf(b, " health=%s every %s timeout %s up %d down %d", hc.Path, hc.Interval, hc.Timeout, hc.HealthyThreshold, hc.UnhealthyThreshold)
				}
				b.WriteString("\n")
			}
		}
		if rl := e.RateLimit; rl != nil {
			fmt.Fprintf(b, "  rate_limit %s\n", rateLimitString(rl))
		}
	}
}

func rateLimitString(rl *RateLimit) string {
	return fmt.Sprintf("rpm=%g burst=%d key=%s trusted_proxies=%d", rl.RequestsPerMinute, rl.Burst, rl.Key, rl.TrustedProxies)
}

func mapString(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func short(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	if len(data) > 70 {
		return string(data[:67]) + "..."
	}
	return string(data)
}

func schemaString(s *openapi3.Schema) string {
	if s == nil {
		return "none"
	}
	data, err := s.MarshalJSON()
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	if len(data) > 60 {
		return string(data[:57]) + "..."
	}
	return string(data)
}
