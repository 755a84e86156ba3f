// Package replay runs contract tests from recordings: it replays recorded
// requests against a live service and checks each response against its
// recording and an OpenAPI document. It is what bw test runs.
//
// # Basics
//
//	sum, err := replay.Run(ctx, db, replay.Options{
//		Target:    target,                      // *url.URL
//		Reporters: []replay.Reporter{replay.NewConsole(os.Stdout)},
//	})
//	// err: the run could not be made; sum.Failed: checks that failed
//
// # Checks
//
// Each live response goes through layers, in order: transport (the request
// could be sent and the answer read), status code, content type, required
// headers (every header the recording has, but for transfer and software
// headers and standard caching, security-policy and CORS headers, which
// are compared only when present), body shape against the recording
// (every recorded JSON field present with its type; array items against
// what all recorded items share), body against the spec ([Options.Spec], or the one bw infer would write), and values
// of stable fields and headers. A failure in the first three layers ends
// the checks of that response; the others are all reported. Each failure
// is a [Diff] naming the JSON path: "$.items[0].price: type number, want
// string".
//
// # Noise
//
// Noisy values are compared by type and format, not value. bw finds them
// on its own: fields whose values differ between recordings of the same
// request, values that look volatile (timestamps, UUIDs, ULIDs, JWTs,
// long hex or random tokens, redacted secrets), fields named like them
// (request_id, *_at, uptime...), and volatile headers (Date, ETag,
// Set-Cookie, X-Request-Id...). [Noise] adds and removes rules;
// [LearnNoise] finds more by asking the target twice.
//
// # Value chaining
//
// An id or token handed out by one response (JSON fields named like
// identifiers, UUID-like values, Location) and sent by a later request (a
// path segment, a query or form value, a JSON value, a header token) is
// replaced by the value the live service handed out, so a recorded
// create-then-get flow works against a fresh service. The later request
// waits for the earlier one. Values are matched whole: a recorded id of 7
// replaces path segment "7", never "17".
//
// # Order and concurrency
//
// Requests run concurrently ([Options.Concurrency]) across sessions and
// independent flows. Within a session, a write (any method but GET, HEAD,
// OPTIONS, TRACE) waits for everything recorded before it, and reads wait
// for the last write, so reads between two writes run concurrently; a
// request sending a chained value waits for the exchange that handed it
// out. [Options.Order] can narrow this to collections or widen it to
// capture order per session; a concurrency of 1 keeps the whole run in
// capture order.
//
// # Safety
//
// Writes are replayed only against a loopback target (127.0.0.0/8, ::1,
// localhost) or with [Options.AllowWrites]; otherwise they, and the
// requests that need what they hand out, are skipped. Recordings hold
// redacted secrets, and a placeholder is never sent: a request that would
// carry one (a header, a path segment, a query or form parameter, a JSON
// field) is skipped, the reason saying where and how to supply it, unless
// [Options.Header] (credentials) or chaining (a token a live response
// handed out) replaces it. HTTP/2 pseudo-headers (":path", ":status") in
// recordings are neither sent nor checked.
//
// # Skipped writes
//
// A write skipped for any of these reasons, when the recorded service
// accepted it (2xx or 3xx), leaves the live service with other data than
// the recording had: a create skipped for its redacted password makes the
// later lists one user short. Those differences are not the service's
// fault, so the write taints its collection (its path up to the first
// parameter: /users for POST /users and DELETE /users/7) for the
// exchanges after it in its ordering unit ([Options.Order]). They are
// still sent and checked, but differences in values are not counted: such
// a result says why in [Result.WithoutValues], and the summary counts
// them ([Summary.WithoutValues]). A tainted exchange whose status differs,
// unless with a server error, is skipped, and a read sending an id a
// skipped create handed out is skipped before it is sent.
//
// # Overlapping exchanges
//
// Concurrent clients record exchanges that overlapped in time: a list that
// ran while an update of its collection was applied may show the update or
// not, and replay, which sends the list first since it started first,
// cannot tell which to expect. A read that overlapped, at capture, a write
// of its collection in its session (one the recorded service accepted) is
// checked as one after a skipped write is: its values are not counted,
// [Result.WithoutValues] saying that it ran while the write was in flight,
// and a status that differs, unless with a server error, makes it skipped.
// Exchanges that started in the same millisecond are replayed in the order
// they started, which the store's IDs do not keep.
//
// # Memory
//
// The store is streamed, never loaded: at most a few times Concurrency
// exchanges are held at once, besides those waiting for what may have
// overlapped them (at most 1024 exchanges, 32 MiB). What is remembered across exchanges (the
// values handed out, the noise learned from the recordings, failing
// operations) is bounded, older entries giving way, so a run of any
// length fits in constant memory; reporters write as results come (the
// JUnit reporter spools to a temporary file).
package replay
