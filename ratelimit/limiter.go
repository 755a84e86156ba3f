package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Limiter decides whether a client may make one more request.
//
// Implementations must be safe for concurrent use by multiple goroutines.
// The caller passes the current time, so a Limiter never reads the clock
// for decisions and tests can drive it with a fixed clock; times passed for
// the same key should not go backwards. ctx bounds any I/O the
// implementation does (a shared store); Allow returns an error only when it
// could not decide, and then the Decision is meaningless: the caller
// chooses whether to fail open or closed.
type Limiter interface {
	Allow(ctx context.Context, key string, now time.Time) (Decision, error)
}

// Decision is the outcome of one Allow call and what to tell the client.
type Decision struct {
	Allowed bool
	// Limit is the policy's quota: requests per Window.
	Limit int
	// Window is the policy's time window.
	Window time.Duration
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// Reset is how long until one more request becomes available (the next
	// whole token accrues; for a full bucket, the time one token takes).
	Reset time.Duration
	// RetryAfter is how long a denied client must wait; 0 when allowed.
	RetryAfter time.Duration
	// Policy names the policy in the header fields.
	Policy string
}

// Config sets up a Memory limiter; the zero value of an optional field
// means its documented default.
type Config struct {
	// Policy names the policy in the header fields; "" means "default".
	Policy string
	// RequestsPerMinute is the refill rate; it must be > 0.
	RequestsPerMinute float64
	// Burst is the bucket size, the most requests allowed at once; 0 means 1.
	Burst int
	// MaxKeys caps the number of keys kept; 0 means 100,000.
	MaxKeys int
	// SweepInterval is how often the sweeper drops idle keys; 0 means one
	// minute, and a negative value starts no sweeper (Allow still drops
	// idle keys as it goes).
	SweepInterval time.Duration
}

// Defaults of Config.
const (
	defaultPolicy        = "default"
	defaultMaxKeys       = 100_000
	defaultSweepInterval = time.Minute
)

// Validate reports the first invalid field of c, naming it.
func (c Config) Validate() error {
	switch {
	case math.IsNaN(c.RequestsPerMinute) || math.IsInf(c.RequestsPerMinute, 0) || c.RequestsPerMinute <= 0:
		return fmt.Errorf("ratelimit: requests_per_minute: must be > 0 (got %v)", c.RequestsPerMinute)
	case c.Burst < 0:
		return fmt.Errorf("ratelimit: burst: must be >= 0 (got %d)", c.Burst)
	case c.MaxKeys < 0:
		return fmt.Errorf("ratelimit: max_keys: must be >= 0 (got %d)", c.MaxKeys)
	}
	return nil
}

// policyQuota expresses rpm as a whole quota per window for RateLimit-Policy,
// whose q and w are integers: per minute when rpm is whole, else per hour.
func policyQuota(rpm float64) (q int, w time.Duration) {
	if rpm == math.Trunc(rpm) {
		return int(rpm), time.Minute
	}
	return int(math.Round(rpm * 60)), time.Hour
}
