package replay

import (
	"strings"
	"testing"
)

// TestCollectionOf: a write touches the path up to its first parameter,
// by the spec's template (which may leave out a base path) or, without
// one, by the segments that look like identifiers.
func TestCollectionOf(t *testing.T) {
	tmpl := func(s string) *route { return &route{segs: strings.Split(strings.Trim(s, "/"), "/")} }
	for _, tc := range []struct {
		path string
		rt   *route
		want string
	}{
		{"/api/v1/users", tmpl("/api/v1/users"), "/api/v1/users"},
		{"/api/v1/users/7", tmpl("/api/v1/users/{id}"), "/api/v1/users"},
		{"/api/v1/users/7", tmpl("/users/{id}"), "/api/v1/users"}, // servers: /api/v1
		{"/api/v1/users/me", tmpl("/users/{id}"), "/api/v1/users"},
		{"/orders/ab12/cancel", tmpl("/orders/{id}/cancel"), "/orders"},
		{"/v2/users/7", nil, "/v2/users"},
		{"/orders/0f8e6a4c-9b1d-4c3e-8f2a-1b2c3d4e5f60/cancel", nil, "/orders"},
		{"/users/", nil, "/users"},
		{"/7", nil, "/"},
		{"/", nil, "/"},
	} {
		if got := collectionOf(tc.path, tc.rt); got != tc.want {
			t.Errorf("collectionOf(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
