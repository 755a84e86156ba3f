// Package ratelimit limits requests per client with token buckets and
// reports the limits in the IETF RateLimit header fields.
//
// # Basics
//
// A [Limiter] answers one question per request: may the client identified
// by key go ahead at time now? The answer is a [Decision] that also carries
// what a client should be told: the policy, how many requests are left and
// when the next one frees up. [SetHeaders] writes that into a response.
//
// [Memory] is the in-process Limiter: one token bucket
// (golang.org/x/time/rate) per key, refilled at RequestsPerMinute and
// holding at most Burst tokens. A later shared limiter (Redis, say)
// implements the same interface, so bw serve does not change.
//
// [NewKeyFunc] builds the function that maps a request to its key: the
// client IP (optionally taken from X-Forwarded-For behind trusted proxies),
// a header, or an API key. Requests without the chosen credential fall back
// to the client IP.
//
// # Memory use
//
// A flood of distinct keys (spoofed headers, many IPv6 addresses) must not
// grow memory without bound. Memory keeps its keys in shards, each with an
// LRU list:
//
//   - A key idle for longer than the time to refill a whole bucket
//     (Burst / rate) has a full bucket, exactly like a key never seen; it
//     is dropped, which changes no decision. Each Allow drops a few such
//     keys from its shard, and a sweeper goroutine clears the rest once per
//     SweepInterval, one shard at a time.
//   - The number of keys never exceeds MaxKeys (100,000 by default). When a
//     shard is full the least recently used key is dropped even if it is
//     not idle; that client then starts over with a full bucket. This is the
//     only case where eviction is lenient.
//
// # Header fields
//
// [SetHeaders] follows draft-ietf-httpapi-ratelimit-headers-11 (May 2026),
// whose fields are Structured Field Lists (RFC 9651):
//
//	RateLimit-Policy: "default";q=60;w=60
//	RateLimit: "default";r=4;t=1
//	Retry-After: 1
//
// q and w describe the long-run quota (requests per window); r is the
// requests available now (whole tokens in the bucket) and t the seconds
// until one more token accrues, so within t seconds the client can make no
// more than r requests. Retry-After is sent only on a denial. Earlier
// drafts' RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset fields
// are not sent.
package ratelimit
