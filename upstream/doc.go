// Package upstream keeps a pool of upstream targets for a proxied endpoint:
// it picks one per request with a load-balancing policy and tracks which
// targets are healthy.
//
// # Basics
//
// [NewPool] checks the targets and the algorithm; [Pool.Pick] returns a
// healthy [Backend] and a done func the caller must call once when the
// request to it has finished. When every target is down Pick returns
// [ErrNoHealthy]; bw serve answers 502/503 then.
//
// # Policies
//
//   - round_robin (the default): each target in turn.
//   - weighted: smooth weighted round robin (nginx): with weights 3 and 1,
//     a a b a, repeated; never a long run of one target.
//   - least_connections: the target with the fewest requests in flight
//     relative to its weight; ties go round robin.
//   - ip_hash: the same key (the caller passes the client IP) always goes
//     to the same target while the set of healthy targets is unchanged.
//   - consistent_hash: rendezvous hashing of the key (client IP, a header)
//     over the target names: when a target is added or removed, only the
//     keys that move to or from it change target, about 1/n of them.
//
// ip_hash and consistent_hash with an empty key fall back to round robin.
// Names in the original Backworks spelling (RoundRobin, IpHash) are
// accepted.
//
// # Health
//
// Every target starts healthy. A target with a health check is probed by
// [Pool.Start] with a GET every interval; after UnhealthyThreshold
// consecutive failures (a transport error, a timeout, or a status outside
// 200-399) it is skipped, and after HealthyThreshold consecutive successes
// it is used again. Passive checks come from the proxy: [Pool.MarkFailure]
// after a transport error counts like a failed probe. A target without a
// health check that reaches the threshold within Options.FailTimeout is
// skipped for FailTimeout and then tried again. [Pool.Close] stops the
// probes and waits for them; Options.OnChange reports every transition (for
// the bw_upstream_healthy gauge), and [Pool.Backends] the current state.
package upstream
