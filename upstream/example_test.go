package upstream_test

import (
	"context"
	"fmt"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/upstream"
)

// Smooth weighted round robin spreads a 3:1 split evenly.
func ExamplePool_Pick() {
	pool, err := upstream.NewPool([]*api.Target{
		{Name: "a", URL: "http://127.0.0.1:9001", Weight: 3},
		{Name: "b", URL: "http://127.0.0.1:9002"},
	}, "Weighted", upstream.Options{})
	if err != nil {
		panic(err)
	}
	// Start runs the targets' health checks (these have none); Close stops
	// them and waits.
	if err := pool.Start(context.Background()); err != nil {
		panic(err)
	}
	defer pool.Close()

	for range 8 {
		b, done, err := pool.Pick("")
		if err != nil {
			panic(err)
		}
		fmt.Print(b.Name(), " ")
		done() // when the proxied request has finished
	}
	fmt.Println()
	// Output: a a b a a a b a
}
