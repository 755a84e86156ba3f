package infer

import (
	"testing"

	"github.com/backworks/bw/store"
)

func TestBusiest(t *testing.T) {
	for _, tc := range []struct {
		counts map[string]int
		want   string
	}{
		{nil, ""},
		{map[string]int{"b": 2, "a": 1}, "b"},
		{map[string]int{"b": 2, "a": 2, "c": 1}, "a"}, // a tie goes to the first by name
	} {
		if got := Busiest(tc.counts); got != tc.want {
			t.Errorf("Busiest(%v) = %q, want %q", tc.counts, got, tc.want)
		}
	}
	for host, want := range map[string]string{"API.example.com:443": "api.example.com", "x:80": "x", "x:8080": "x:8080", "[::1]:443": "::1"} {
		if got := ServiceOf(&store.Request{Host: host}); got != want {
			t.Errorf("ServiceOf(%q) = %q, want %q", host, got, want)
		}
	}
}
