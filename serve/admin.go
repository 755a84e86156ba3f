package serve

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/store"
)

// upstreamHealth is one target in /__bw/health.
type upstreamHealth struct {
	Endpoint string `json:"endpoint"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Healthy  bool   `json:"healthy"`
	InFlight int    `json:"in_flight"`
}

// admin serves /__bw/health, /__bw/metrics and /__bw/config.
func (s *Server) admin(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	switch r.URL.Path {
	case "/__bw/health", "/__bw/metrics", "/__bw/config":
	default:
		ri.route = "/__bw/*"
		writeProblem(w, &Problem{Type: typeNotFound, Status: http.StatusNotFound,
			Detail: "unknown admin endpoint; there are /__bw/health, /__bw/metrics and /__bw/config"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, &Problem{Type: typeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
			Detail: r.URL.Path + " answers GET only"})
		return
	}
	if r.URL.Path == "/__bw/metrics" {
		s.metrics.handler.ServeHTTP(w, r)
		return
	}
	st := s.acquire()
	if st == nil {
		writeProblem(w, &Problem{Type: "about:blank", Status: http.StatusServiceUnavailable, Detail: "the server is shutting down"})
		return
	}
	defer st.release()
	var v any
	if r.URL.Path == "/__bw/health" {
		ups := st.upstreams()
		status := "ok"
		for _, u := range ups {
			if !u.Healthy {
				status = "degraded"
			}
		}
		if ups == nil {
			ups = []upstreamHealth{}
		}
		v = struct {
			Status     string           `json:"status"`
			Endpoints  int              `json:"endpoints"`
			Operations int              `json:"operations"`
			Recordings int              `json:"recordings"`
			ReloadedAt time.Time        `json:"reloaded_at"`
			Upstreams  []upstreamHealth `json:"upstreams"`
		}{status, len(st.doc.Endpoints), len(st.ops), st.recordings(), time.Unix(0, s.reloaded.Load()).UTC(), ups}
	} else {
		v = configView(st, s)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

func (st *site) recordings() int {
	if st.replay == nil {
		return 0
	}
	return st.replay.indexed
}

// upstreams is the health of every target of the site's proxy endpoints.
func (st *site) upstreams() []upstreamHealth {
	var out []upstreamHealth
	for _, p := range st.pools {
		for _, b := range p.pool.Backends() {
			out = append(out, upstreamHealth{Endpoint: p.ep.Name, Name: b.Name(), URL: b.URL().Redacted(),
				Healthy: b.Healthy(), InFlight: b.InFlight()})
		}
	}
	return out
}

// configView is the loaded configuration as /__bw/config shows it: what
// bw serves, without schemas, mock bodies or secrets (target URLs lose
// their passwords; headers are not shown).
func configView(st *site, s *Server) any {
	d := st.doc
	type target struct {
		Name   string `json:"name"`
		URL    string `json:"url"`
		Weight int    `json:"weight,omitempty"`
	}
	type endpoint struct {
		Name          string   `json:"name"`
		Path          string   `json:"path"`
		Methods       []string `json:"methods,omitempty"`
		Mode          api.Mode `json:"mode"`
		Responses     []int    `json:"responses,omitempty"`
		Mocks         int      `json:"mock_responses,omitempty"`
		Targets       []target `json:"targets,omitempty"`
		LoadBalancing string   `json:"load_balancing,omitempty"`
		StripPrefix   string   `json:"strip_prefix,omitempty"`
		RateLimit     bool     `json:"rate_limit,omitempty"`
		Recordings    int      `json:"recordings,omitempty"`
	}
	type rateLimit struct {
		RequestsPerMinute float64 `json:"requests_per_minute"`
		Burst             int     `json:"burst"`
		Key               string  `json:"key,omitempty"`
	}
	out := struct {
		File        string          `json:"file,omitempty"`
		Name        string          `json:"name"`
		Version     string          `json:"version,omitempty"`
		Description string          `json:"description,omitempty"`
		Mode        api.Mode        `json:"mode,omitempty"`
		Listen      string          `json:"listen,omitempty"`
		Recordings  string          `json:"recordings,omitempty"`
		Latency     string          `json:"latency"`
		Validation  any             `json:"validation"`
		RateLimit   *rateLimit      `json:"rate_limit,omitempty"`
		CORS        *api.CORS       `json:"cors,omitempty"`
		LoadedAt    time.Time       `json:"loaded_at"`
		Endpoints   []endpoint      `json:"endpoints"`
		Warnings    []string        `json:"warnings,omitempty"`
		OpenAPI     map[string]bool `json:"openapi,omitempty"`
	}{
		File: d.File, Name: d.Name, Version: d.Version, Description: d.Description, Mode: d.Mode,
		Listen: s.Addr(), Latency: st.latency.String(), CORS: d.CORS, LoadedAt: st.loaded.UTC(),
		Validation: map[string]any{
			"requests":      st.reqMode,
			"responses":     st.resMode,
			"max_body_size": st.maxBody,
		},
	}
	if st.replay != nil {
		out.Recordings = st.replay.path
	}
	if rl := d.Security.RateLimit; rl != nil {
		out.RateLimit = &rateLimit{rl.RequestsPerMinute, rl.Burst, rl.Key}
	}
	if d.OpenAPI != nil {
		out.OpenAPI = map[string]bool{"validation": true}
	}
	for _, w := range d.Warnings {
		out.Warnings = append(out.Warnings, w.Error())
	}
	for _, ep := range d.Endpoints {
		e := endpoint{Name: ep.Name, Path: ep.Path, Methods: ep.Methods, Mode: ep.Mode, Mocks: len(ep.Mock), RateLimit: ep.RateLimit != nil}
		if e.Mode == "" {
			e.Mode = d.Mode
		}
		if e.Mode == "" {
			e.Mode = api.ModeMock
		}
		e.Responses = documentedStatuses(ep)
		if px := ep.Proxy; px != nil {
			e.LoadBalancing, e.StripPrefix = px.LoadBalancing, px.StripPrefix
			for _, t := range px.Targets {
				e.Targets = append(e.Targets, target{Name: t.Name, URL: redactURL(t.URL), Weight: t.Weight})
			}
		}
		for _, op := range st.ops {
			if op.ep == ep && op.recs != nil {
				e.Recordings += len(op.recs.replies)
			}
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	return out
}

// redactURL hides a URL's password and secret-looking query values.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if store.IsSecretName(k) {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
