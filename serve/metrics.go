package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (never the global one), served at /__bw/metrics. Names follow the
// OpenTelemetry HTTP conventions in Prometheus form; routes are labelled
// by template, never by raw path.
type metrics struct {
	reg        *prometheus.Registry
	server     *prometheus.HistogramVec // method, route, status
	client     *prometheus.HistogramVec // method, target, status
	rateLimit  *prometheus.CounterVec   // route
	validation *prometheus.CounterVec   // direction, route
	replay     *prometheus.CounterVec   // match
	replays    map[string]prometheus.Counter
	reloads    *prometheus.CounterVec // result
	handler    http.Handler
}

// durationBuckets extend OpenTelemetry's default HTTP buckets below 5ms,
// where a mock server's answers fall.
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.server = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_server_request_duration_seconds",
		Help:    "Duration of HTTP server requests.",
		Buckets: durationBuckets,
	}, []string{"method", "route", "status"})
	m.client = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_client_request_duration_seconds",
		Help:    "Duration of HTTP requests to upstream targets, until the response headers.",
		Buckets: durationBuckets,
	}, []string{"method", "target", "status"})
	m.rateLimit = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_ratelimit_rejected_total",
		Help: "Requests rejected by a rate limit.",
	}, []string{"route"})
	m.validation = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_validation_failures_total",
		Help: "Requests and responses that did not match the API description.",
	}, []string{"direction", "route"})
	m.replay = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_replay_total",
		Help: "Mock answers by source: exact or scored recording, example, mock, schema, miss.",
	}, []string{"match"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_reloads_total",
		Help: "Reloads of the API description by result.",
	}, []string{"result"})
	m.reg.MustRegister(m.server, m.client, m.rateLimit, m.validation, m.replay, m.reloads,
		&upstreamCollector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the start, so dashboards and alerts see 0s.
	m.validation.WithLabelValues("request", "")
	m.validation.WithLabelValues("response", "")
	m.rateLimit.WithLabelValues("")
	m.replays = map[string]prometheus.Counter{}
	for _, k := range []string{"exact", "scored", "example", "mock", "schema", "miss"} {
		m.replays[k] = m.replay.WithLabelValues(k)
	}
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

var upstreamHealthyDesc = prometheus.NewDesc("bw_upstream_healthy",
	"Whether an upstream target is in use (1) or skipped as unhealthy (0).",
	[]string{"endpoint", "target"}, nil)

// upstreamCollector reports the health of the targets of the site serving
// at scrape time.
type upstreamCollector struct{ s *Server }

func (c *upstreamCollector) Describe(ch chan<- *prometheus.Desc) { ch <- upstreamHealthyDesc }

func (c *upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.acquire()
	if st == nil {
		return
	}
	defer st.release()
	for _, u := range st.upstreams() {
		v := 0.0
		if u.Healthy {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(upstreamHealthyDesc, prometheus.GaugeValue, v, u.Endpoint, u.Name)
	}
}

// methodLabel keeps the method label's values bounded: unknown methods
// are _OTHER, as OpenTelemetry says.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return m
	}
	return "_OTHER"
}

// replayed counts a mock answer by where it came from.
func (m *metrics) replayed(kind string) {
	if c, ok := m.replays[kind]; ok {
		c.Inc()
		return
	}
	m.replay.WithLabelValues(kind).Inc()
}
