// Package serve answers HTTP requests from an API description: it replays
// recorded responses, serves examples and mock responses, forwards proxy
// endpoints to upstream targets, and checks requests and responses against
// the OpenAPI description.
//
// # Basics
//
// New loads the description (Backworks YAML or OpenAPI 3, through
// api.Load) and indexes the recordings; Start listens; Close shuts down:
//
//	s, err := serve.New(serve.Config{File: "api.yaml", DB: "bw.db"})
//	if err != nil { ... }                 // FILE:LINE:COL: problem
//	if err := s.Start(ctx); err != nil { ... } // "address already in use" shows here
//	...
//	err = s.Close(ctx) // in-flight requests finish
//
// A Server is also an http.Handler, for use without Start.
//
// # Routing
//
// Endpoint paths are templates: literal segments, {name} parameters,
// prefix{name}suffix segments and a trailing {name*} that matches the rest
// of the path. When several templates match, the one without a wildcard
// wins, then the one with fewer parameters, then the one whose first
// differing segment is more specific (literal, then prefix{name}suffix,
// then {name}). A trailing slash is ignored. A path that no template
// matches is a 404, a method that no matching template has a 405 with
// Allow; both, like every error bw answers itself, are RFC 9457
// application/problem+json bodies ([Problem]).
//
// # Replay
//
// A mock endpoint answers with, in order:
//
//  1. the recording whose request is the same: method, path, query pairs
//     sorted, body canonicalised (JSON re-encoded with sorted keys). When
//     the same request was recorded several times, repeated requests get the
//     recorded answers in order and then stay on the last (the state is
//     per request and kept across reloads);
//  2. the recording of the same operation that shares most path
//     parameters, query pairs and JSON body fields with the request (a
//     score from 0 to 99, the oldest among equals);
//  3. the endpoint's documented example;
//  4. the endpoint's mock response ("METHOD path", "METHOD template",
//     "METHOD", then "*");
//  5. an example generated from the response schema (deterministic:
//     format, enum, required, ranges, lengths and item counts respected);
//  6. else a 501 problem listing the closest routes.
//
// The Bw-Match response header says which: "<exchange id>; score=<n>"
// (100 is exact), or "example; score=0", "mock; score=0", "schema;
// score=0". Recorded answers keep their status and headers, less
// hop-by-hop fields; Content-Length is recomputed, and a compressed body
// is decompressed for a client that does not accept its coding. Secrets
// in live requests are redacted with the recordings' key before matching,
// so requests with the same secret match their recordings.
//
// Recordings are indexed in memory when the site is built: per operation
// at most Config.MaxRecordings exchanges (the oldest), with their request
// keys and responses; bodies up to 256 KiB are kept in memory (identical
// bodies once, 128 MiB in all), larger ones are read from the recordings
// file when replayed, which then stays open (read-only) until the next
// reload.
//
// # Validation
//
// Requests are checked against the OpenAPI description with
// kin-openapi's openapi3filter: parameters, body, content type. With
// security.validation.requests "enforce" (the default) an invalid request
// gets a 400 problem whose errors list every violation, or the
// operation's own documented 400/422 example; "report" logs and counts;
// "off" skips the check. Security schemes are not enforced. A body over
// max_body_size (default 10 MiB) is a 413, a body of a media type the
// operation does not take a 415. The formats uuid, email, ipv4 and ipv6
// are checked besides kin-openapi's own. For OpenAPI 3.1 documents,
// operations whose schemas only use keywords kin-openapi's own validator
// knows (type arrays included) are checked with it; the JSON Schema
// 2020-12 validator, which costs milliseconds per value, is used only for
// operations that need it (const, prefixItems, if/then/else, ...).
//
// Query parameters the operation does not declare are allowed, as
// OpenAPI has no way to forbid them, unless the operation, its path item
// or the document sets the extension x-bw-strict-query: true.
//
// Responses bw sends from recordings, examples and mocks are checked once
// each: "report" (the default) adds "Bw-Validation: failed", counts
// bw_validation_failures_total{direction="response"} and logs the first
// failure; "enforce" answers 502 instead. Proxied responses are not
// checked.
//
// # Rate limits
//
// security.rate_limiting and each endpoint's rate_limit are token buckets
// (package ratelimit; Config.NewLimiter plugs in a shared limiter). A
// request must pass both; responses carry the RateLimit-Policy and
// RateLimit fields, and an exhausted limit answers 429 with Retry-After.
// A limiter that cannot decide lets the request through.
//
// # Proxy endpoints
//
// Proxy-mode endpoints are forwarded with httputil.ReverseProxy to a target
// picked by the endpoint's upstream.Pool (load balancing, active and
// passive health checks), less the strip prefix; a failed upstream is a
// 502 problem and counts against the target.
//
// # Operations
//
// The file is watched (its directory, with fsnotify) and reloaded ~100ms
// after it stops changing: the whole new description is loaded and built
// first, then swapped in atomically; requests in flight finish on the old
// one, which is closed after the last. A broken edit is logged and the old
// description keeps serving. Admin endpoints live under /__bw/: health
// (JSON: status, endpoints, reloaded_at, upstreams), metrics (Prometheus
// text from the server's own registry) and config (the loaded
// configuration without schemas, bodies or secrets). Config.AccessLog gets
// one line per request; a W3C traceparent is continued (same trace id,
// new span id) and sent to upstream targets. Config.TLS serves HTTPS.
//
// # Caveats
//
// Rate limiters and sequence positions are per process; rate-limit
// buckets start full again after a reload. The recordings file is opened
// read-only, so bw serve cannot start while bw capture is writing the
// same file.
package serve
