package infer

import (
	"net"
	"strings"

	"github.com/backworks/bw/store"
)

// ServiceOf names the service an exchange belongs to: the lower-case host
// without a default port, so http/https and :80/:443 aliases merge.
// Exported so that bw test selects the same service bw infer describes.
func ServiceOf(r *store.Request) string {
	h := strings.ToLower(r.Host)
	if host, port, err := net.SplitHostPort(h); err == nil && (port == "80" || port == "443") {
		h = host
	}
	return h
}

// Busiest returns the service with the most exchanges in counts, the
// first by name on a tie, or "" when counts is empty: the service [Infer]
// describes when Options.Host is empty.
func Busiest(counts map[string]int) string {
	host := ""
	for _, name := range sortedKeys(counts) {
		if host == "" || counts[name] > counts[host] {
			host = name
		}
	}
	return host
}
