package ratelimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/backworks/bw/ratelimit"
)

// A handler that limits each client IP to a burst of 2 requests, refilled
// at 60 per minute, and tells clients so.
func Example() {
	lim := ratelimit.NewMemory(ratelimit.Config{RequestsPerMinute: 60, Burst: 2})
	defer lim.Close()
	key, err := ratelimit.NewKeyFunc("ip", 0)
	if err != nil {
		panic(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := lim.Allow(r.Context(), key(r), time.Now())
		if err != nil { // a shared limiter could not decide: fail open
			fmt.Fprintln(w, "ok")
			return
		}
		ratelimit.SetHeaders(w.Header(), d)
		if !d.Allowed {
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/pets", nil))
		line := fmt.Sprint(rec.Code, " RateLimit-Policy: ", rec.Header().Get("RateLimit-Policy"),
			" RateLimit: ", rec.Header().Get("RateLimit"))
		if ra := rec.Header().Get("Retry-After"); ra != "" {
			line += " Retry-After: " + ra
		}
		fmt.Println(line)
	}
	// Output:
	// 200 RateLimit-Policy: "default";q=60;w=60 RateLimit: "default";r=1;t=1
	// 200 RateLimit-Policy: "default";q=60;w=60 RateLimit: "default";r=0;t=1
	// 429 RateLimit-Policy: "default";q=60;w=60 RateLimit: "default";r=0;t=1 Retry-After: 1
}
