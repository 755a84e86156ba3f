package serve

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/ratelimit"
)

// limits applies the document's rate limits: the global one
// (security.rate_limiting) and each endpoint's own. A request must pass
// both; the response carries the RateLimit fields of the tighter one.
type limits struct {
	st         *site
	global     *limitRule
	byEndpoint map[*api.Endpoint]*limitRule
	closers    []io.Closer
}

type limitRule struct {
	lim ratelimit.Limiter
	key ratelimit.KeyFunc
}

// newLimits builds the limiters of doc; nil when it has no rate limit.
func newLimits(st *site, doc *api.Doc, newLimiter func(policy string, rl *api.RateLimit) (ratelimit.Limiter, error)) (*limits, error) {
	l := &limits{st: st, byEndpoint: map[*api.Endpoint]*limitRule{}}
	rule := func(policy string, rl *api.RateLimit) (*limitRule, error) {
		key, err := ratelimit.NewKeyFunc(rl.Key, rl.TrustedProxies)
		if err != nil {
			return nil, err
		}
		var lim ratelimit.Limiter
		if newLimiter != nil {
			lim, err = newLimiter(policy, rl)
		} else {
			cfg := ratelimit.Config{Policy: policy, RequestsPerMinute: rl.RequestsPerMinute, Burst: rl.Burst}
			if err = cfg.Validate(); err == nil {
				lim = ratelimit.NewMemory(cfg)
			}
		}
		if err != nil {
			return nil, err
		}
		if c, ok := lim.(io.Closer); ok {
			l.closers = append(l.closers, c)
		}
		return &limitRule{lim: lim, key: key}, nil
	}
	if rl := doc.Security.RateLimit; rl != nil {
		r, err := rule("default", rl)
		if err != nil {
			return nil, fmt.Errorf("security.rate_limiting: %w", err)
		}
		l.global = r
	}
	for _, ep := range doc.Endpoints {
		if ep.RateLimit == nil {
			continue
		}
		r, err := rule(ep.Name, ep.RateLimit)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("endpoint %s: rate_limit: %w", ep.Name, err)
		}
		l.byEndpoint[ep] = r
	}
	if l.global == nil && len(l.byEndpoint) == 0 {
		return nil, nil
	}
	return l, nil
}

func (l *limits) close() {
	for _, c := range l.closers {
		c.Close()
	}
}

// allow checks the request against its limits, sets the RateLimit fields
// and answers 429 when a limit is exhausted; it reports whether to go on.
// A limiter that cannot decide lets the request through (fail open).
func (l *limits) allow(w http.ResponseWriter, r *http.Request, op *operation) bool {
	now := time.Now()
	var (
		shown ratelimit.Decision
		have  bool
	)
	for _, rule := range []*limitRule{l.byEndpoint[op.ep], l.global} {
		if rule == nil {
			continue
		}
		d, err := rule.lim.Allow(r.Context(), rule.key(r), now)
		if err != nil {
			l.st.log.Warn("rate limiter failed; letting the request through", "route", op.route.template, "err", err)
			continue
		}
		if !have || !d.Allowed || shown.Allowed && d.Remaining < shown.Remaining {
			shown, have = d, true
		}
		if !d.Allowed {
			break
		}
	}
	if !have {
		return true
	}
	ratelimit.SetHeaders(w.Header(), shown)
	if shown.Allowed {
		return true
	}
	l.st.srv.metrics.rateLimit.WithLabelValues(op.route.template).Inc()
	writeProblem(w, &Problem{Type: typeRateLimited, Status: http.StatusTooManyRequests,
		Detail: fmt.Sprintf("rate limit %q exceeded; retry in %s", shown.Policy, shown.RetryAfter.Round(time.Second))})
	return false
}
