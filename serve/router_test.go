package serve

import (
	"slices"
	"strings"
	"testing"
)

func testRouter(t *testing.T, templates ...string) *router {
	t.Helper()
	var routes []*route
	for i, tpl := range templates {
		method := "GET"
		if m, p, ok := strings.Cut(tpl, " "); ok {
			method, tpl = m, p
		}
		segs, err := parseTemplate(tpl)
		if err != nil {
			t.Fatal(err)
		}
		r := &route{template: tpl, segs: segs, order: i, ops: map[string]*operation{}}
		for _, s := range segs {
			if s.kind != segLiteral {
				r.nparams++
			}
			r.wildcard = r.wildcard || s.kind == segWild
		}
		for m := range strings.SplitSeq(method, ",") {
			r.ops[m] = &operation{method: m, route: r}
			r.allow = append(r.allow, m)
		}
		slices.Sort(r.allow)
		routes = append(routes, r)
	}
	return newRouter(routes)
}

func TestRouterPrecedence(t *testing.T) {
	rt := testRouter(t,
		"/users/{id}",
		"/users/me",
		"/users/{id}/posts/{postId}",
		"/users/{id}/posts/latest",
		"/{a}/b/c",
		"/a/{x}/{y}",
		"/a/{x}/c",
		"/files/{name}.json",
		"/files/{name}",
		"/static/{rest*}",
		"/static/index.html",
		"/{any*}",
		"/",
		"/v1/{id}/x",
		"/v1/{rid}/y",
		"POST,PUT /things/{id}",
		"DELETE /things/mine",
	)
	tests := []struct {
		method, path string
		want         string // template; "404" or "405"
		params       string
	}{
		{"GET", "/users/me", "/users/me", ""},
		{"GET", "/users/42", "/users/{id}", "id=42"},
		{"GET", "/users/42/", "/users/{id}", "id=42"}, // trailing slash ignored
		{"GET", "/users/42/posts/latest", "/users/{id}/posts/latest", "id=42"},
		{"GET", "/users/42/posts/7", "/users/{id}/posts/{postId}", "id=42 postId=7"},
		{"GET", "/users/a%2Fb", "/users/{id}", "id=a/b"}, // escaped slash stays in the segment
		{"GET", "/a/b/c", "/a/{x}/c", "x=b"},             // both have one parameter: literal first segment wins
		{"GET", "/a/q/r", "/a/{x}/{y}", "x=q y=r"},
		{"GET", "/z/b/c", "/{a}/b/c", "a=z"},
		{"GET", "/files/report.json", "/files/{name}.json", "name=report"},
		{"GET", "/files/report.csv", "/files/{name}", "name=report.csv"},
		{"GET", "/static/index.html", "/static/index.html", ""},
		{"GET", "/static/css/site.css", "/static/{rest*}", "rest=css/site.css"},
		{"GET", "/static", "/static/{rest*}", "rest="},
		{"GET", "/elsewhere/deep/path", "/{any*}", "any=elsewhere/deep/path"},
		{"GET", "/", "/", ""},
		{"GET", "/v1/7/y", "/v1/{rid}/y", "rid=7"},
		{"HEAD", "/users/me", "/users/me", ""}, // HEAD is served as GET
		{"PUT", "/things/mine", "/things/{id}", "id=mine"},
		{"DELETE", "/things/mine", "/things/mine", ""},
		{"DELETE", "/users/me", "405", ""},
		{"GET", "/nothing/here", "/{any*}", "any=nothing/here"},
	}
	for _, tt := range tests {
		r, op, matched := rt.lookup(tt.method, tt.path)
		got := "404"
		switch {
		case op != nil:
			got = r.template
		case matched:
			got = "405"
		}
		if got != tt.want {
			t.Errorf("%s %s: got %s, want %s", tt.method, tt.path, got, tt.want)
			continue
		}
		if op == nil {
			continue
		}
		var ps []string
		for _, p := range r.params(tt.path) {
			ps = append(ps, p.name+"="+p.value)
		}
		if g := strings.Join(ps, " "); g != tt.params {
			t.Errorf("%s %s: params %q, want %q", tt.method, tt.path, g, tt.params)
		}
	}
	if got := rt.allowed("/things/mine"); !slices.Equal(got, []string{"DELETE", "GET", "POST", "PUT"}) {
		t.Errorf("allowed(/things/mine) = %v", got) // GET from /{any*}
	}
}

func TestRouterFewerParametersWin(t *testing.T) {
	// The rule "fewer parameters" comes before "literal first": /{w}/b/c
	// has one parameter, /a/{x}/{y} two.
	rt := testRouter(t, "/a/{x}/{y}", "/{w}/b/c")
	r, _, _ := rt.lookup("GET", "/a/b/c")
	if r == nil || r.template != "/{w}/b/c" {
		t.Fatalf("got %v, want /{w}/b/c", r)
	}
}

func TestRouterNoMatch(t *testing.T) {
	rt := testRouter(t, "/users/{id}", "POST /users")
	if _, op, matched := rt.lookup("GET", "/orders"); op != nil || matched {
		t.Errorf("GET /orders matched")
	}
	if _, op, matched := rt.lookup("GET", "/users"); op != nil || !matched {
		t.Errorf("GET /users: want 405 (op %v, matched %v)", op, matched)
	}
	// "/users/" is "/users" (trailing slash), which has POST only
	if _, op, _ := rt.lookup("GET", "/users/"); op != nil {
		t.Errorf("GET /users/ matched %s", op.route.template)
	}
	c := rt.closest("GET", "/user/42", 1)
	if len(c) != 1 || c[0].Route != "/users/{id}" {
		t.Errorf("closest = %+v", c)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, tpl := range []string{"users", "/a/{b", "/a/b}", "/a/{rest*}/c", "/a/{x}{y}", "/a/{}"} {
		if _, err := parseTemplate(tpl); err == nil {
			t.Errorf("parseTemplate(%q): no error", tpl)
		}
	}
}
