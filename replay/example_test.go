package replay_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
)

// ExampleRun replays a recording against a live service: the recorded
// timestamp differs from the live one, which is noise, not a failure.
func ExampleRun() {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": 7, "name": "ann", "seen_at": %q}`, time.Now().UTC().Format(time.RFC3339Nano))
	}))
	defer svc.Close()

	dir, _ := os.MkdirTemp("", "bw-example-")
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "bw.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	w := db.NewWriter(store.WriterOptions{})
	body := []byte(`{"id": 7, "name": "ann", "seen_at": "2026-01-02T03:04:05Z"}`)
	w.Write(context.Background(), &store.Exchange{
		Source: store.SourceProxy, Start: time.Now(),
		Request: store.Request{Method: "GET", Scheme: "http", Host: "api.test", Path: "/users/7", Proto: "HTTP/1.1"},
		Response: store.Response{Status: 200, Proto: "HTTP/1.1",
			Header: store.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:   store.Body{Data: body, Size: int64(len(body))}},
	})
	w.Close()

	target, _ := url.Parse(svc.URL)
	sum, err := replay.Run(context.Background(), db, replay.Options{Target: target, NoSpec: true})
	fmt.Println(sum.Passed, sum.Failed, err)
	// Output: 1 0 <nil>
}
