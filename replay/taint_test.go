package replay_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/backworks/bw/replay"
)

// accounts is a user directory whose creates need a password, which the
// recordings redact, beside a price list nothing writes to.
type accounts struct {
	mu    sync.Mutex
	users []map[string]any
	next  int

	idString    bool // break: ids in the list are strings
	searchError bool // break: the search answers 500
	price       string
	tokens      bool // POST /login hands out a token (else no token)
	issued      map[string]bool
}

func newAccounts() *accounts {
	return &accounts{next: 3, price: "1.50", tokens: true, issued: map[string]bool{}, users: []map[string]any{
		{"id": 1, "name": "ann", "email": "ann@example.com"},
		{"id": 2, "name": "bob", "email": "bob@example.com"},
	}}
}

func (a *accounts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := r.URL.Path
	switch {
	case p == "/login":
		tok := fmt.Sprintf("tok-%d", a.next*7919)
		a.next++
		if !a.tokens {
			writeJSON(w, 200, map[string]any{"ok": true})
			return
		}
		a.issued[tok] = true
		writeJSON(w, 200, map[string]any{"token": tok})
	case p == "/api/v1/prices":
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"sku": "fig", "price": a.price}}})
	case p == "/api/v1/users" && r.Method == "POST":
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		// A user signs up with a password, or is added by one logged in.
		switch auth := r.Header.Get("Authorization"); {
		case auth != "" && !a.issued[strings.TrimPrefix(auth, "Bearer ")]:
			writeJSON(w, 401, map[string]any{"error": "who are you"})
			return
		case auth == "" && (in["password"] == nil || in["password"] == ""):
			writeJSON(w, 422, map[string]any{"error": "password required"})
			return
		}
		u := map[string]any{"id": a.next, "name": in["name"], "email": in["email"]}
		a.next++
		a.users = append(a.users, u)
		writeJSON(w, 201, u)
	case p == "/api/v1/users":
		data := make([]any, 0, len(a.users))
		for _, u := range a.users {
			if a.idString {
				c := map[string]any{}
				for k, v := range u {
					c[k] = v
				}
				c["id"] = fmt.Sprint(u["id"])
				u = c
			}
			data = append(data, u)
		}
		writeJSON(w, 200, map[string]any{"data": data, "total": len(data)})
	case p == "/api/v1/users/search":
		if a.searchError {
			writeJSON(w, 500, map[string]any{"error": "boom"})
			return
		}
		for _, u := range a.users {
			if u["email"] == r.URL.Query().Get("email") {
				writeJSON(w, 200, u)
				return
			}
		}
		writeJSON(w, 404, map[string]any{"error": "no such user"})
	case strings.HasPrefix(p, "/api/v1/users/"):
		for _, u := range a.users {
			if fmt.Sprint(u["id"]) == strings.TrimPrefix(p, "/api/v1/users/") {
				writeJSON(w, 200, u)
				return
			}
		}
		writeJSON(w, 404, map[string]any{"error": "no such user"})
	default:
		writeJSON(w, 404, map[string]any{"error": "not found"})
	}
}

// driveAccounts: list, create a user (the password is redacted at
// capture), list again, read the new user by id and by email, the prices.
// The lists differ in their query, else their difference would make the
// list noisy (see recNoise) and its values never compared.
func driveAccounts(t testing.TB, base string) {
	c := client{t: t, base: base}
	c.do("GET", "/api/v1/users?limit=10", nil)
	_, u := c.do("POST", "/api/v1/users", map[string]any{"name": "cy", "email": "cy@example.com", "password": "hunter2"})
	c.do("GET", "/api/v1/users", nil)
	c.do("GET", fmt.Sprintf("/api/v1/users/%v", u["id"]), nil)
	c.do("GET", "/api/v1/users/search?email=cy@example.com", nil)
	c.do("GET", "/api/v1/users/1", nil)
	c.do("GET", "/api/v1/prices", nil)
}

// outcomes lists the results in capture order as "METHOD path: outcome".
func outcomes(col *collect) []string {
	var out []string
	for _, r := range byID(col.results) {
		out = append(out, fmt.Sprintf("%s %s: %s", r.Method, r.Path, r.Outcome))
	}
	return out
}

const taintedUsers = "an earlier write to /api/v1/users was skipped"

// TestSkippedWriteTaints: a create skipped for its redacted password does
// not make the later list fail on its length; the read of the user it
// created is skipped; the summary says how many were checked without
// values and why. A broken item shape and a changed value elsewhere still
// fail, as does a 5xx on a tainted read.
func TestSkippedWriteTaints(t *testing.T) {
	db := record(t, newAccounts(), "", func(base string) { driveAccounts(t, base) })

	t.Run("OK", func(t *testing.T) {
		for _, j := range []int{1, 8} {
			col := runAgainst(t, db, newAccounts(), replay.Options{Concurrency: j})
			rs := byID(col.results)
			want := []struct {
				outcome replay.Outcome
				reason  string
				without string
			}{
				{replay.Pass, "", ""}, // the list before the create is the recorded one
				{replay.Skip, "body field $.password was redacted at capture; re-record with --no-redact to replay it", ""},
				{replay.Pass, "", taintedUsers}, // 2 users, want 3
				{replay.Skip, "it reads a resource whose create was skipped", ""},
				{replay.Skip, "its status differs after " + taintedUsers, ""}, // 404, want 200
				{replay.Pass, "", ""},                                         // same values: nothing to excuse
				{replay.Pass, "", ""},
			}
			if len(rs) != len(want) {
				t.Fatalf("-j %d: %d results, want %d:\n%s", j, len(rs), len(want), describe(rs))
			}
			for i, r := range rs {
				if r.Outcome != want[i].outcome || r.Reason != want[i].reason || r.WithoutValues != want[i].without {
					t.Errorf("-j %d: %s %s: %s %q without values %q %v, want %s %q %q",
						j, r.Method, r.Path, r.Outcome, r.Reason, r.WithoutValues, r.Diffs, want[i].outcome, want[i].reason, want[i].without)
				}
			}
			s := col.sum
			if s.Failed != 0 || s.Passed != 4 || s.Skipped != 3 || len(s.WithoutValues) != 1 || s.WithoutValues[taintedUsers] != 1 {
				t.Errorf("-j %d: summary %+v", j, s)
			}
		}
	})

	t.Run("ShapeBroken", func(t *testing.T) {
		svc := newAccounts()
		svc.idString = true
		col := runAgainst(t, db, svc, replay.Options{NoSpec: true})
		var failed []string
		for _, r := range byID(col.failed()) {
			failed = append(failed, r.Method+" "+r.Path)
			if !hasDiff(r, "$.data[0].id: type string, want number") {
				t.Errorf("%s %s: %v", r.Method, r.Path, r.Diffs)
			}
		}
		// The one after the skipped create fails too: its shape is not a
		// value, and the difference in length is not reported with it.
		if strings.Join(failed, ", ") != "GET /api/v1/users?limit=10, GET /api/v1/users" {
			t.Fatalf("failed: %v\n%s", failed, outcomes(col))
		}
		if r := byID(col.failed())[1]; len(r.Diffs) != 1 || r.WithoutValues != taintedUsers {
			t.Errorf("tainted list: %v, without values %q", r.Diffs, r.WithoutValues)
		}
	})

	t.Run("ServerError", func(t *testing.T) {
		svc := newAccounts()
		svc.searchError = true
		col := runAgainst(t, db, svc, replay.Options{NoSpec: true})
		f := col.failed()
		if len(f) != 1 || f[0].Path != "/api/v1/users/search?email=cy@example.com" || !hasDiff(f[0], "status 500, want 200") {
			t.Fatalf("failed:\n%s", describe(f))
		}
	})

	t.Run("UntouchedCollection", func(t *testing.T) {
		svc := newAccounts()
		svc.price = "1.75"
		col := runAgainst(t, db, svc, replay.Options{NoSpec: true})
		f := col.failed()
		if len(f) != 1 || f[0].Path != "/api/v1/prices" || !hasDiff(f[0], `$.data[0].price: "1.75", want "1.50"`) || f[0].WithoutValues != "" {
			t.Fatalf("failed:\n%s", describe(f))
		}
	})
}

// TestWriteSkippedWhenBuilt: a create whose credential a live token was to
// replace is skipped only when its request is built, the live login having
// handed out none; the list after it is checked without values all the
// same, at any concurrency.
func TestWriteSkippedWhenBuilt(t *testing.T) {
	db := record(t, newAccounts(), "", func(base string) {
		c := client{t: t, base: base}
		_, login := c.do("POST", "/login", map[string]any{"user": "ann"})
		c.hdr = http.Header{"Authorization": {"Bearer " + login["token"].(string)}}
		c.do("POST", "/api/v1/users", map[string]any{"name": "cy", "email": "cy@example.com"})
		c = client{t: t, base: base}
		c.do("GET", "/api/v1/users", nil)
		c.do("GET", "/api/v1/prices", nil)
	})
	for _, j := range []int{1, 8} {
		svc := newAccounts()
		svc.tokens = false
		col := runAgainst(t, db, svc, replay.Options{NoSpec: true, Concurrency: j})
		rs := byID(col.results)
		if len(rs) != 4 {
			t.Fatalf("%d results:\n%s", len(rs), describe(rs))
		}
		if r := rs[1]; r.Outcome != replay.Skip || !strings.HasPrefix(r.Reason, "Authorization was redacted at capture") {
			t.Errorf("-j %d: create %s %q", j, r.Outcome, r.Reason)
		}
		if r := rs[2]; r.Outcome != replay.Pass || r.WithoutValues != taintedUsers {
			t.Errorf("-j %d: list %s %q %v", j, r.Outcome, r.WithoutValues, r.Diffs)
		}
		if r := rs[3]; r.Outcome != replay.Pass || r.WithoutValues != "" {
			t.Errorf("-j %d: prices %s %q %v", j, r.Outcome, r.WithoutValues, r.Diffs)
		}
	}
}

// TestWithoutValuesReported: the console, JSON and JUnit reports say which
// exchanges were checked without values and count them by why.
func TestWithoutValuesReported(t *testing.T) {
	db := record(t, newAccounts(), "", func(base string) { driveAccounts(t, base) })
	var con, js, ju strings.Builder
	c := replay.NewConsole(&con)
	c.Verbose = true
	junit, err := replay.NewJUnit(&ju, "bw test")
	if err != nil {
		t.Fatal(err)
	}
	runAgainst(t, db, newAccounts(), replay.Options{Concurrency: 1, Reporters: []replay.Reporter{c, replay.NewJSON(&js), junit}})

	for _, want := range []string{
		"(checked without values: " + taintedUsers + ")\n",
		"skip GET /api/v1/users/3 [",
		"]: it reads a resource whose create was skipped\n",
		"1 skipped: its status differs after " + taintedUsers + "\n",
		"\n1 checked without values: " + taintedUsers + "\n",
	} {
		if !strings.Contains(con.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, con.String())
		}
	}

	var doc struct {
		Results []struct {
			Path          string
			WithoutValues string `json:"without_values"`
		}
		Summary struct {
			WithoutValues map[string]int `json:"without_values"`
		}
	}
	if err := json.Unmarshal([]byte(js.String()), &doc); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	n := 0
	for _, r := range doc.Results {
		if r.WithoutValues != "" {
			n++
			if r.WithoutValues != taintedUsers || r.Path != "/api/v1/users" {
				t.Errorf("JSON result %+v", r)
			}
		}
	}
	if n != 1 || len(doc.Summary.WithoutValues) != 1 || doc.Summary.WithoutValues[taintedUsers] != 1 {
		t.Errorf("JSON: %d results without values, summary %v", n, doc.Summary.WithoutValues)
	}

	tests, failures, errors, skipped := checkJUnit(t, []byte(ju.String()))
	if tests != 7 || failures != 0 || errors != 0 || skipped != 3 {
		t.Errorf("JUnit: tests %d failures %d errors %d skipped %d", tests, failures, errors, skipped)
	}
	for _, want := range []string{
		`<property name="checked without values" value="1: ` + taintedUsers + `"/>`,
		`<system-out>checked without values: ` + taintedUsers + `</system-out>`,
	} {
		if !strings.Contains(ju.String(), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, ju.String())
		}
	}
}
