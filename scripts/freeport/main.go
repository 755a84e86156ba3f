// Command freeport prints free TCP ports on 127.0.0.1, one per line, for
// scripts that must tell a server where to listen. The ports are free when
// printed; another process may still take one before the caller binds it.
//
//	freeport [-n COUNT]
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	n := flag.Int("n", 1, "number of distinct ports to print")
	flag.Parse()
	if *n < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: freeport [-n COUNT]")
		os.Exit(2)
	}
	// Hold every listener until all ports are picked, so they differ.
	lns := make([]net.Listener, 0, *n)
	for range *n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(os.Stderr, "freeport: %v\n", err)
			os.Exit(1)
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
}
