package store

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactExchange(t *testing.T) {
	r := NewRedactor([]byte("k"))
	ex := &Exchange{
		Request: Request{
			RawQuery: "q=cats&api_key=s3cret&access_token=abc&limit=5",
			Header: Header{
				{"Authorization", "Bearer eyJhbGciOi.xyz"},
				{"Cookie", "sid=abc; theme=dark"},
				{"X-Api-Key", "k-123"},
				{"Accept", "application/json"},
			},
			Body: Body{Data: []byte(`{"user": "ann", "password" : "hunter2", "nested": {"client_secret": 42, "ok": [1, "token"]}, "token": null}`)},
		},
		Response: Response{
			Header: Header{{"Content-Type", "application/json"}, {"Set-Cookie", "sid=abc; Path=/; HttpOnly"}},
			Body:   Body{Data: []byte(`{"access_token":"abc","expires_in":3600}`)},
		},
	}
	r.Exchange(ex)
	sec := r.Value("abc")
	if !strings.HasPrefix(sec, RedactedPrefix) || sec != r.Value("abc") || sec == r.Value("abd") {
		t.Fatalf("placeholders not stable: %q", sec)
	}
	if want := "q=cats&api_key=" + r.Value("s3cret") + "&access_token=" + sec + "&limit=5"; ex.Request.RawQuery != want {
		t.Errorf("query = %q, want %q", ex.Request.RawQuery, want)
	}
	h := ex.Request.Header
	if got := h.Get("Authorization"); got != "Bearer eyJhbGciOi."+r.Value("eyJhbGciOi.xyz") {
		t.Errorf("authorization = %q", got)
	}
	if got := h.Get("Cookie"); got != "sid="+sec+"; theme="+r.Value("dark") {
		t.Errorf("cookie = %q", got)
	}
	if got := h.Get("Accept"); got != "application/json" {
		t.Errorf("accept changed: %q", got)
	}
	if got := h.Get("X-Api-Key"); got != r.Value("k-123") {
		t.Errorf("x-api-key = %q", got)
	}
	wantBody := `{"user": "ann", "password" : "` + r.Value("hunter2") + `", "nested": {"client_secret": "` + r.Value("42") + `", "ok": [1, "token"]}, "token": null}`
	if got := string(ex.Request.Body.Data); got != wantBody {
		t.Errorf("request body:\n got %s\nwant %s", got, wantBody)
	}
	if got := ex.Response.Header.Get("Set-Cookie"); got != "sid="+sec+"; Path=/; HttpOnly" {
		t.Errorf("set-cookie = %q", got)
	}
	if got := string(ex.Response.Body.Data); got != `{"access_token":"`+sec+`","expires_in":3600}` {
		t.Errorf("response body = %s", got)
	}

	// Redacting again changes nothing.
	before := *ex
	beforeBody := string(ex.Request.Body.Data)
	r.Exchange(ex)
	if ex.Request.RawQuery != before.Request.RawQuery || string(ex.Request.Body.Data) != beforeBody ||
		ex.Request.Header.Get("Authorization") != before.Request.Header.Get("Authorization") {
		t.Error("redaction is not idempotent")
	}
}

func TestRedactKeepsJWTHeader(t *testing.T) {
	r := NewRedactor([]byte("k"))
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
	h := Header{{Name: "Authorization", Value: "Bearer " + jwt}}
	r.header(h)
	want := "Bearer eyJhbGciOiJIUzI1NiJ9." + r.Value(jwt)
	if h[0].Value != want {
		t.Fatalf("got %q, want %q", h[0].Value, want)
	}
	r.header(h)
	if h[0].Value != want {
		t.Fatalf("not idempotent: %q", h[0].Value)
	}
}

func TestRedactLeavesOtherBodiesAlone(t *testing.T) {
	r := NewRedactor([]byte("k"))
	for _, b := range []Body{
		{Data: []byte(`{"name":"a","monkey":"b"}`)},
		{Data: []byte(`not json but has a password`)},
		{Data: []byte(`{"password":`)}, // broken JSON stays as recorded
	} {
		want := string(b.Data)
		r.body(&b, Header{{"Content-Type", "application/json"}})
		if string(b.Data) != want {
			t.Errorf("changed %q to %q", want, b.Data)
		}
	}
	gz := Body{Data: []byte(`{"password":"x"}`)}
	r.body(&gz, Header{{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}})
	if string(gz.Data) != `{"password":"x"}` {
		t.Error("touched an encoded body")
	}
}

func FuzzRedactJSON(f *testing.F) {
	f.Add([]byte(`{"password":"x","a":[{"token":1}]}`))
	f.Add([]byte(`[{"secret":{"token":"y"}}]`))
	r := NewRedactor([]byte("k"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ok := r.json(data)
		if ok && jsonValid(data) && !jsonValid(out) {
			t.Fatalf("redaction broke valid JSON %q -> %q", data, out)
		}
	})
}

func jsonValid(b []byte) bool { return json.Valid(b) }
