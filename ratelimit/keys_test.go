package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewKeyFunc(t *testing.T) {
	bearer := "key:" + digest("Bearer abc123")
	for _, tc := range []struct {
		name    string
		spec    string
		trusted int
		remote  string
		target  string
		headers map[string][]string
		want    string
	}{
		{name: "IP", spec: "ip", remote: "203.0.113.7:5555", want: "ip:203.0.113.7"},
		{name: "IPDefaultSpec", spec: "", remote: "203.0.113.7:5555", want: "ip:203.0.113.7"},
		{name: "IPNoPort", spec: "IP", remote: "203.0.113.7", want: "ip:203.0.113.7"},
		{name: "IPv4Mapped", spec: "ip", remote: "[::ffff:203.0.113.7]:80", want: "ip:203.0.113.7"},
		{name: "IPv6Per64", spec: "ip", remote: "[2001:db8:1:2:aaaa::1]:443", want: "ip:2001:db8:1:2::/64"},
		{name: "IPv6ZoneDropped", spec: "ip", remote: "[fe80::1%eth0]:443", want: "ip:fe80::/64"},
		{name: "IPUnparsable", spec: "ip", remote: "@sock", want: "ip:@sock"},
		{
			name: "SpoofedXFFDepth0", spec: "ip", remote: "203.0.113.7:1",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, want: "ip:203.0.113.7",
		},
		{
			name: "XFFDepth1", spec: "ip", trusted: 1, remote: "10.0.0.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.9"}}, want: "ip:198.51.100.9",
		},
		{
			// The client sent "1.2.3.4" itself; two proxies appended the client
			// and the first proxy: the 2nd from the right is the client.
			name: "XFFDepth2Spoofed", spec: "ip", trusted: 2, remote: "10.0.0.2:1",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.9, 10.0.0.1"}}, want: "ip:198.51.100.9",
		},
		{
			name: "XFFRepeatedLines", spec: "ip", trusted: 2, remote: "10.0.0.2:1",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.9", "10.0.0.1"}}, want: "ip:198.51.100.9",
		},
		{
			name: "XFFShorterThanDepth", spec: "ip", trusted: 3, remote: "10.0.0.2:1",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.9, 10.0.0.1"}}, want: "ip:10.0.0.2",
		},
		{
			name: "XFFGarbage", spec: "ip", trusted: 1, remote: "10.0.0.2:1",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4, unknown"}}, want: "ip:10.0.0.2",
		},
		{
			name: "XFFWithPortAndBrackets", spec: "ip", trusted: 2, remote: "10.0.0.2:1",
			headers: map[string][]string{"X-Forwarded-For": {"[2001:db8::1]:8080, 198.51.100.9:1234"}}, want: "ip:2001:db8::/64",
		},
		{
			name: "XFFEmptyEntries", spec: "ip", trusted: 1, remote: "10.0.0.2:1",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.9, ,"}}, want: "ip:198.51.100.9",
		},
		{
			name: "Header", spec: "header:X-Tenant", remote: "203.0.113.7:1",
			headers: map[string][]string{"X-Tenant": {" acme "}}, want: "header:acme",
		},
		{
			name: "HeaderLowercaseSpec", spec: "Header:x-tenant", remote: "203.0.113.7:1",
			headers: map[string][]string{"X-Tenant": {"acme"}}, want: "header:acme",
		},
		{
			name: "HeaderLongValueHashed", spec: "header:X-Tenant", remote: "203.0.113.7:1",
			headers: map[string][]string{"X-Tenant": {strings.Repeat("a", 65)}}, want: "header:" + digest(strings.Repeat("a", 65)),
		},
		{name: "HeaderMissingFallsBackToIP", spec: "header:X-Tenant", remote: "203.0.113.7:1", want: "ip:203.0.113.7"},
		{
			name: "HeaderMissingFallsBackToTrustedIP", spec: "header:X-Tenant", trusted: 1, remote: "10.0.0.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.9"}}, want: "ip:198.51.100.9",
		},
		{
			name: "APIKeyBearer", spec: "api_key", remote: "203.0.113.7:1",
			headers: map[string][]string{"Authorization": {"Bearer abc123"}}, want: bearer,
		},
		{
			name: "APIKeyBasic", spec: "ApiKey", remote: "203.0.113.7:1",
			headers: map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, want: "key:" + digest("Basic dXNlcjpwYXNz"),
		},
		{
			name: "APIKeyHeader", spec: "api-key", remote: "203.0.113.7:1",
			headers: map[string][]string{"X-Api-Key": {"k1"}}, want: "key:" + digest("k1"),
		},
		{name: "APIKeyQuery", spec: "api_key", remote: "203.0.113.7:1", target: "/x?api_key=k2", want: "key:" + digest("k2")},
		{name: "APIKeyQueryAlt", spec: "api_key", remote: "203.0.113.7:1", target: "/x?apikey=k3", want: "key:" + digest("k3")},
		{
			name: "APIKeyAuthorizationFirst", spec: "api_key", remote: "203.0.113.7:1", target: "/x?api_key=k2",
			headers: map[string][]string{"Authorization": {"Bearer abc123"}, "X-Api-Key": {"k1"}}, want: bearer,
		},
		{name: "APIKeyMissingFallsBackToIP", spec: "api_key", remote: "203.0.113.7:1", want: "ip:203.0.113.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewKeyFunc(tc.spec, tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			target := tc.target
			if target == "" {
				target = "/x"
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.RemoteAddr = tc.remote
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := f(r); got != tc.want {
				t.Fatalf("key = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewKeyFunc_Err(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		trusted int
		want    string
	}{
		{"cookie", 0, `ratelimit: key "cookie": unknown (want ip, header:NAME or api_key)`},
		{"header:", 0, `ratelimit: key "header:": unknown (want ip, header:NAME or api_key)`},
		{"header:X Bad", 0, `ratelimit: key "header:X Bad": invalid header name "X Bad"`},
		{"ip", -1, `ratelimit: trusted_proxies: must be >= 0 (got -1)`},
	} {
		_, err := NewKeyFunc(tc.spec, tc.trusted)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewKeyFunc(%q, %d) = %v, want %q", tc.spec, tc.trusted, err, tc.want)
		}
	}
}
