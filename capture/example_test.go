package capture_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/store"
)

// Record one exchange through the proxy, without the bw command.
func Example() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"hello":"world"}`)
	}))
	defer upstream.Close()

	dir, _ := os.MkdirTemp("", "bw-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "bw.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	w := db.NewWriter(store.WriterOptions{})

	u, _ := url.Parse(upstream.URL)
	p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0", Session: "example"}, w)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	res, err := http.Get("http://" + p.Addr() + "/hello?lang=en")
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()

	p.Close(context.Background()) // in-flight exchanges reach the writer
	w.Close()                     // and the writer commits them

	db.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error {
		fmt.Println(ex.Session, ex.Request.Method, ex.Request.Path, ex.Request.RawQuery, ex.Response.Status, string(ex.Response.Body.Data))
		return nil
	})
	// Output: example GET /hello lang=en 200 {"hello":"world"}
}
