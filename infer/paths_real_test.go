package infer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

// Traffic as real captures have it: a resource family seen with one to three
// values, the values named by the responses (rule 6).

// rex is an exchange with response headers, for Location.
type rex struct {
	ex
	respHeader [][2]string
}

func realDB(t testing.TB, exs []rex) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bw.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	for i, e := range exs {
		x := e.exchange(i)
		for _, h := range e.respHeader {
			x.Response.Header = append(x.Response.Header, store.Field{Name: h[0], Value: h[1]})
		}
		w.Write(context.Background(), x)
	}
	w.Close()
	return db
}

func plain(exs ...ex) []rex {
	out := make([]rex, len(exs))
	for i, e := range exs {
		out[i] = rex{ex: e}
	}
	return out
}

func wantPaths(t *testing.T, exs []rex, want ...string) {
	t.Helper()
	doc, out := openapiFrom(t, realDB(t, exs), Options{})
	if got := pathKeys(doc); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paths:\n got %v\nwant %v\n%s", got, want, out)
	}
}

// A PowerDNS-like API: one server, three zones with trailing dots, listed
// with ids and self links; sub-resources next to the zone stay literal.
func TestEvidenceServerAndZones(t *testing.T) {
	zone := func(z string) string {
		return `{"id":"` + z + `","name":"` + z + `","kind":"Native","serial":1,"rrsets":[{"name":"www.` + z + `","type":"A"}]}`
	}
	var list []string
	for _, z := range []string{"example.com.", "example.org.", "example.net."} {
		list = append(list, `{"id":"`+z+`","name":"`+z+`","url":"/api/v1/servers/localhost/zones/`+z+`","kind":"Native"}`)
	}
	exs := plain(
		ex{method: "GET", path: "/api/v1/servers", resp: `[{"id":"localhost","type":"Server","url":"/api/v1/servers/localhost"}]`},
		ex{method: "GET", path: "/api/v1/servers/localhost", resp: `{"id":"localhost","type":"Server","daemon_type":"authoritative"}`},
		ex{method: "GET", path: "/api/v1/servers/localhost/zones", resp: "[" + strings.Join(list, ",") + "]"},
		ex{method: "GET", path: "/api/v1/servers/localhost/zones/example.com.", resp: zone("example.com.")},
		ex{method: "GET", path: "/api/v1/servers/localhost/zones/example.org.", resp: zone("example.org.")},
		ex{method: "PUT", path: "/api/v1/servers/localhost/zones/example.com./notify", resp: `{"result":"queued"}`},
		ex{method: "GET", path: "/api/v1/servers/localhost/zones/example.net./export", resp: "example.net. 3600 IN SOA a b", respType: "text/plain"},
		ex{method: "GET", path: "/api/v1/servers/localhost/statistics", resp: `[{"name":"uptime","value":"1"}]`},
		// routes under the one server, each requested once, stay routes
		ex{method: "GET", path: "/api/v1/servers/localhost/config", resp: `[{"name":"config","type":"ConfigSetting","value":"no"}]`},
		ex{method: "GET", path: "/api/v1/servers/localhost/tsigkeys", resp: `[{"id":"transfer-key.","name":"transfer-key","type":"TSIGKey"}]`},
		ex{method: "PUT", path: "/api/v1/servers/localhost/cache/flush", resp: `{"count":1,"result":"Flushed cache."}`},
		ex{method: "GET", path: "/api/v1/servers/localhost/autoprimaries", resp: `[{"ip":"192.0.2.53","nameserver":"ns1.example.org."}]`},
		ex{method: "DELETE", path: "/api/v1/servers/localhost/autoprimaries/192.0.2.53/ns1.example.org.", status: 204},
		ex{method: "GET", path: "/api/v1/servers/localhost/zones/example.org./metadata", resp: `[{"kind":"SOA-EDIT-API","metadata":["DEFAULT"]},{"kind":"X-Owner","metadata":["alice"]}]`},
		ex{method: "GET", path: "/api/v1/servers/localhost/zones/example.org./metadata/X-Owner", resp: `{"kind":"X-Owner","metadata":["alice"]}`},
	)
	wantPaths(t, exs,
		"/api/v1/servers", "/api/v1/servers/{server}",
		"/api/v1/servers/{server}/autoprimaries", "/api/v1/servers/{server}/autoprimaries/{autoprimary}/{id}",
		"/api/v1/servers/{server}/cache/flush", "/api/v1/servers/{server}/config",
		"/api/v1/servers/{server}/statistics", "/api/v1/servers/{server}/tsigkeys",
		"/api/v1/servers/{server}/zones", "/api/v1/servers/{server}/zones/{zone}",
		"/api/v1/servers/{server}/zones/{zone}/export", "/api/v1/servers/{server}/zones/{zone}/metadata",
		"/api/v1/servers/{server}/zones/{zone}/metadata/{metadata}", "/api/v1/servers/{server}/zones/{zone}/notify")
}

// A value listed in a collection response is an identifier even when its
// item was requested once; empty bodies are no evidence.
func TestEvidenceListedValue(t *testing.T) {
	exs := plain(
		ex{method: "GET", path: "/teams", resp: `{"data":[{"name":"alpha","size":3},{"name":"beta","size":2}]}`},
		ex{method: "GET", path: "/teams/alpha", resp: `{"size":3,"members":[]}`},
		ex{method: "GET", path: "/teams/beta/members", resp: `[]`},
		// an empty list and empty bodies name nothing
		ex{method: "GET", path: "/orgs", status: 204},
		ex{method: "GET", path: "/orgs/acme", status: 204},
		ex{method: "DELETE", path: "/orgs/initech", status: 204},
	)
	wantPaths(t, exs, "/orgs", "/orgs/acme", "/orgs/initech", "/teams", "/teams/{team}", "/teams/{team}/members")
}

// A value the item's own body names (username), seen once.
func TestEvidenceItemEcho(t *testing.T) {
	exs := plain(
		ex{method: "GET", path: "/users/jdoe", resp: `{"user":{"username":"jdoe","bio":null}}`},
		ex{method: "GET", path: "/users/me", resp: `{"user":{"username":"jdoe","bio":null}}`},
		ex{method: "GET", path: "/users/settings", resp: `{"theme":"dark"}`},
		// a list names the children of its path, not the path: PowerDNS's
		// config has a setting named config
		ex{method: "GET", path: "/users/config", resp: `[{"name":"config","value":"no"},{"name":"cache","value":"1"}]`},
	)
	// me, settings and config are routes: nothing names them.
	wantPaths(t, exs, "/users/config", "/users/me", "/users/settings", "/users/{user}")
}

// Links: a self/href link in a body, or a Location header, names the
// value at its end.
func TestEvidenceLinks(t *testing.T) {
	exs := []rex{
		{ex: ex{method: "GET", path: "/shop/projects", resp: `{"items":[{"title":"Apollo","_links":{"self":{"href":"http://api.test/shop/projects/apollo"}}}]}`}},
		{ex: ex{method: "GET", path: "/shop/projects/apollo", resp: `{"title":"Apollo"}`}},
		{ex: ex{method: "POST", path: "/buckets", req: `{"title":"photos"}`, status: 201}, respHeader: [][2]string{{"Location", "/buckets/photos"}}},
		{ex: ex{method: "GET", path: "/buckets/photos", resp: `{"size":1}`}},
		{ex: ex{method: "GET", path: "/buckets/photos/objects", resp: `[]`}},
		{ex: ex{method: "GET", path: "/buckets/stats", resp: `{"count":1}`}},
	}
	wantPaths(t, exs, "/buckets", "/buckets/stats", "/buckets/{bucket}", "/buckets/{bucket}/objects",
		"/shop/projects", "/shop/projects/{project}")
}

// Identifier classes are evidence on one sample; files, words and the
// first segment are not.
func TestEvidenceIdentifierClasses(t *testing.T) {
	exs := plain(
		ex{method: "GET", path: "/people/ann@example.com", resp: `{"n":1}`},
		ex{method: "GET", path: "/targets/db1.internal:5432", resp: `{"up":true}`},
		ex{method: "GET", path: "/images/web/tags/v1.2.3", resp: `{"digest":"x"}`},
		ex{method: "GET", path: "/images/web/tags/1.3.0-rc.1", resp: `{"digest":"y"}`},
		ex{method: "GET", path: "/images/web/tags/latest", resp: `{"digest":"z"}`},
		ex{method: "GET", path: "/customers/cus_NffrFeUfNV2Hib", resp: `{"object":"customer"}`},
		ex{method: "GET", path: "/shares/dGhpcyBpcyBhIHRlc3Q0", resp: `{"ok":true}`},
		ex{method: "GET", path: "/posts/how-to-train-your-dragon-2", resp: `{"title":"t"}`},
		ex{method: "GET", path: "/docs/openapi.json", resp: `{"openapi":"3.1.0"}`},
		ex{method: "GET", path: "/example.com/about", resp: `{"a":1}`},
		ex{method: "GET", path: "/account/reset-password", resp: `{"a":1}`},
		// latest alone is a route: no semver beside it
		ex{method: "GET", path: "/releases/latest", resp: `{"a":1}`},
	)
	wantPaths(t, exs, "/account/reset-password", "/customers/{customerId}", "/docs/openapi.json",
		"/example.com/about", "/images/web/tags/{tag}", "/people/{person}", "/posts/{post}",
		"/releases/latest", "/shares/{shareId}", "/targets/{target}")
}

func TestIdentClass(t *testing.T) {
	for seg, want := range map[string]segClass{
		"example.com": className, "example.com.": className, "a.b.example.co.uk": className,
		"ann@example.com": className, "localhost:8080": className, "192.0.2.53": className, "2001:db8::1": className, "10.0.0.1:53": className,
		"v1.2.3": classSemver, "1.2.3": classSemver, "2.0.0-beta.1+build.5": classSemver,
		"ord_AbCdEf": classPrefixed, "sk_live_4eC39HqLyjWDarjtT1zdp7dc": classPrefixed,
		"dGhpcyBpcyBhIHRlc3Q0": classPrefixed, "frank-smith-42": className,
		"report.pdf": classText, "openapi.json": classText, "v1": classText, "2.0": classText,
		"reset-password": classText, "user_settings": classText, "findByStatus": classText,
		"latest": classText, "me": classText, "index.html": classText,
		"getUserProfileV2": classText, "listAllOrdersByStatus2024": classText, "user_settings2": classText,
	} {
		if got := identClass(seg); got != want {
			t.Errorf("identClass(%q) = %d, want %d", seg, got, want)
		}
	}
	for _, v := range []string{"v1", "v2.1", "2.0", "v1beta1"} {
		if !isVersion(v) {
			t.Errorf("isVersion(%q) = false", v)
		}
	}
	if isVersion("1.2.3") || isVersion("v1.2.3") {
		t.Error("three-part versions are semver identifiers, not API versions")
	}
}

// Word-like and id-like values with one shape count together: two words
// and two non-words, each requested once, are four values.
func TestEvidenceWordsAndIdsCountTogether(t *testing.T) {
	team := `{"members":[],"size":2}`
	var exs []ex
	for _, v := range []string{"river", "maple", "zorblax", "quuxly"} {
		exs = append(exs, ex{method: "GET", path: "/teams/" + v, resp: team})
	}
	// all words, hit again and again: routes (rule 5)
	for range 3 {
		for _, v := range []string{"open", "closed"} {
			exs = append(exs, ex{method: "GET", path: "/tickets/" + v, resp: `{"count":1}`})
		}
	}
	wantPaths(t, plain(exs...), "/teams/{team}", "/tickets/closed", "/tickets/open")
}

// A literal next to an identifier is never swallowed into it, even when the
// responses list names: /zones/{zone}/records keeps records.
func TestEvidenceLiteralBesideIdentifier(t *testing.T) {
	exs := plain(
		ex{method: "GET", path: "/zones", resp: `[{"name":"alpha"},{"name":"beta"},{"name":"records"}]`},
		ex{method: "GET", path: "/zones/alpha/records", resp: `[{"name":"www","type":"A"}]`},
		ex{method: "GET", path: "/zones/alpha/records/www", resp: `{"name":"www","type":"A"}`},
		ex{method: "GET", path: "/zones/beta/records", resp: `[{"name":"mail","type":"MX"}]`},
	)
	wantPaths(t, exs, "/zones", "/zones/{zone}/records", "/zones/{zone}/records/{record}")
}

// Evidence memory grows with the nodes, not the exchanges.
func TestEvidenceBounded(t *testing.T) {
	root := newNode()
	node := root.insert([]string{"things"}, nil)
	for i := range 10 * maxScans {
		var items []string
		for j := range 50 {
			items = append(items, fmt.Sprintf(`{"id":"t%d-%d","href":"/things/t%d-%d"}`, i, j, i, j))
		}
		body := "[" + strings.Join(items, ",") + "]"
		root.collect(node, &store.Response{Status: 200,
			Header: store.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:   store.Body{Data: []byte(body)}})
	}
	if node.scans > maxScans || len(node.listed.m) > maxEchoes || len(node.named.m) > maxEchoes {
		t.Errorf("scans %d echoes %d", node.scans, len(node.listed.m))
	}
	if n := len(root.links.pairs); n > maxLinks {
		t.Errorf("%d links", n)
	}
}

// The capped value set keeps the smallest hashes: any order of the same
// values leaves the same set.
func TestEchoSetOrderFree(t *testing.T) {
	var a, b hashSet
	n := 3 * maxEchoes
	for i := range n {
		a.add(hashString(fmt.Sprint(i)))
		b.add(hashString(fmt.Sprint(n - 1 - i)))
	}
	if len(a.m) != maxEchoes || fmt.Sprint(a.m) != fmt.Sprint(b.m) {
		t.Fatalf("sets differ: %d %d", len(a.m), len(b.m))
	}
	c := newNode()
	c.absorb(&pathNode{listed: a})
	if fmt.Sprint(c.listed.m) != fmt.Sprint(a.m) {
		t.Fatal("absorb changed the set")
	}
}
