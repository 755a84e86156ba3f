package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestSetHeaders(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		d                         Decision
		policy, limit, retryAfter string
	}{
		{
			name:   "OK",
			d:      Decision{Allowed: true, Limit: 100, Window: time.Minute, Remaining: 42, Reset: 10 * time.Second, Policy: "default"},
			policy: `"default";q=100;w=60`,
			limit:  `"default";r=42;t=10`,
		},
		{
			name:   "OKRoundsResetUp",
			d:      Decision{Allowed: true, Limit: 600, Window: time.Minute, Remaining: 49, Reset: 100 * time.Millisecond, Policy: "api"},
			policy: `"api";q=600;w=60`,
			limit:  `"api";r=49;t=1`,
		},
		{
			name:       "Denied",
			d:          Decision{Limit: 60, Window: time.Minute, Reset: time.Second, RetryAfter: time.Second, Policy: "default"},
			policy:     `"default";q=60;w=60`,
			limit:      `"default";r=0;t=1`,
			retryAfter: "1",
		},
		{
			name:       "DeniedRoundsUp",
			d:          Decision{Limit: 90, Window: time.Hour, Reset: 1500 * time.Millisecond, RetryAfter: 1500 * time.Millisecond, Policy: "slow"},
			policy:     `"slow";q=90;w=3600`,
			limit:      `"slow";r=0;t=2`,
			retryAfter: "2",
		},
		{
			name:       "DeniedNeverZero",
			d:          Decision{Limit: 1, Window: time.Minute},
			policy:     `"default";q=1;w=60`,
			limit:      `"default";r=0;t=0`,
			retryAfter: "1",
		},
		{
			name:   "PolicyNameEscaped",
			d:      Decision{Allowed: true, Limit: 5, Window: time.Minute, Remaining: 5, Policy: "a\"b\\c\né"},
			policy: `"a\"b\\c";q=5;w=60`,
			limit:  `"a\"b\\c";r=5;t=0`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Retry-After", "stale")
			if tc.d.Allowed {
				h.Del("Retry-After")
			}
			SetHeaders(h, tc.d)
			if got := h.Get("RateLimit-Policy"); got != tc.policy {
				t.Errorf("RateLimit-Policy = %s, want %s", got, tc.policy)
			}
			if got := h.Get("RateLimit"); got != tc.limit {
				t.Errorf("RateLimit = %s, want %s", got, tc.limit)
			}
			if got := h.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

func TestSetHeaders_FromMemory(t *testing.T) {
	m := newMemory(t, Config{Policy: "per-ip", RequestsPerMinute: 60, Burst: 2})
	want := []struct{ limit, retryAfter string }{
		{`"per-ip";r=1;t=1`, ""},
		{`"per-ip";r=0;t=1`, ""},
		{`"per-ip";r=0;t=1`, "1"},
	}
	for i, w := range want {
		h := http.Header{}
		SetHeaders(h, allow(t, m, "k", t0))
		if got := h.Get("RateLimit-Policy"); got != `"per-ip";q=60;w=60` {
			t.Errorf("request %d: RateLimit-Policy = %s", i+1, got)
		}
		if got := h.Get("RateLimit"); got != w.limit {
			t.Errorf("request %d: RateLimit = %s, want %s", i+1, got, w.limit)
		}
		if got := h.Get("Retry-After"); got != w.retryAfter {
			t.Errorf("request %d: Retry-After = %q, want %q", i+1, got, w.retryAfter)
		}
	}
}
