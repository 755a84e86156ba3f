package upstream

import (
	"math"
	"sync"
	"sync/atomic"
)

// balancer picks a healthy backend, or nil when none is.
type balancer interface {
	pick(key string) *Backend
}

func newBalancer(alg string, bs []*Backend) balancer {
	rr := &roundRobin{bs: bs}
	switch alg {
	case Weighted:
		return &weighted{bs: bs, current: make([]int, len(bs))}
	case LeastConnections:
		return &leastConnections{bs: bs}
	case IPHash:
		return &ipHash{bs: bs, fallback: rr}
	case ConsistentHash:
		return &rendezvous{bs: bs, fallback: rr}
	}
	return rr
}

// roundRobin takes each healthy backend in turn, skipping those down.
type roundRobin struct {
	bs   []*Backend
	next atomic.Uint64
}

func (r *roundRobin) pick(string) *Backend {
	n := uint64(len(r.bs))
	start := r.next.Add(1) - 1
	for i := range n {
		if b := r.bs[(start+i)%n]; b.Healthy() {
			return b
		}
	}
	return nil
}

// weighted is nginx's smooth weighted round robin: each pick adds every
// healthy backend's weight to its current value, takes the highest and
// subtracts the total from it.
type weighted struct {
	mu      sync.Mutex
	bs      []*Backend
	current []int
}

func (w *weighted) pick(string) *Backend {
	// Read health before locking: Healthy may call Options.OnChange, which
	// must not run under the lock.
	var small [64]bool
	up := small[:0]
	if len(w.bs) > len(small) {
		up = make([]bool, 0, len(w.bs))
	}
	for _, b := range w.bs {
		up = append(up, b.Healthy())
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	best, total := -1, 0
	for i, b := range w.bs {
		if !up[i] {
			continue
		}
		w.current[i] += b.weight
		total += b.weight
		if best < 0 || w.current[i] > w.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	w.current[best] -= total
	return w.bs[best]
}

// leastConnections takes the healthy backend with the fewest requests in
// flight per unit of weight; ties go to the next one in turn.
type leastConnections struct {
	bs   []*Backend
	next atomic.Uint64
}

func (l *leastConnections) pick(string) *Backend {
	n := uint64(len(l.bs))
	start := l.next.Add(1) - 1
	var best *Backend
	var bestLoad int64
	for i := range n {
		b := l.bs[(start+i)%n]
		if !b.Healthy() {
			continue
		}
		load := b.inflight.Load()
		// load/weight < bestLoad/best.weight, without division.
		if best == nil || load*int64(best.weight) < bestLoad*int64(b.weight) {
			best, bestLoad = b, load
		}
	}
	return best
}

// ipHash maps a key to a fixed slot among all backends; when that backend
// is down it rehashes, so a key moves only while its backend is down.
type ipHash struct {
	bs       []*Backend
	fallback balancer
}

func (h *ipHash) pick(key string) *Backend {
	if key == "" {
		return h.fallback.pick(key)
	}
	n := uint64(len(h.bs))
	k := hashString(key)
	for attempt := range n {
		if b := h.bs[mix(k+attempt*0x9e3779b97f4a7c15)%n]; b.Healthy() {
			return b
		}
	}
	for i := range n {
		if b := h.bs[(k+i)%n]; b.Healthy() {
			return b
		}
	}
	return nil
}

// rendezvous is weighted rendezvous (highest random weight) hashing: each
// healthy backend scores the key with a hash of (key, backend name), scaled
// by its weight, and the highest score wins. Adding or removing a backend
// moves only the keys it wins or held; hashing by name keeps the mapping
// stable across pools built from a reloaded config.
//
// A library was considered: none is in the project's vetted module list,
// and the well-known rings (virtual nodes, fixed partition counts) need
// tuning and more code than this for the handful of targets a proxied
// endpoint has, where scoring every backend per pick is cheap. Caddy's
// reverse proxy uses rendezvous hashing the same way.
type rendezvous struct {
	bs       []*Backend
	fallback balancer
}

func (r *rendezvous) pick(key string) *Backend {
	if key == "" {
		return r.fallback.pick(key)
	}
	k := hashString(key)
	var best *Backend
	bestScore := math.Inf(-1)
	for _, b := range r.bs {
		if !b.Healthy() {
			continue
		}
		// A uniform u in (0, 1); w / -ln(u) makes a backend's chance to win
		// proportional to its weight.
		u := (float64(mix(k^b.nameHash)>>11) + 0.5) / (1 << 53)
		score := float64(b.weight) / -math.Log(u)
		if score > bestScore {
			best, bestScore = b, score
		}
	}
	return best
}

// hashString is 64-bit FNV-1a: stable across processes, so every bw
// instance maps a key the same way.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// mix is the splitmix64 finalizer: it spreads every input bit over the
// output, which FNV alone does poorly for short keys.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
