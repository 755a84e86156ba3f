package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve an API description, replaying recorded responses",
		UsageText: "bw serve FILE [--listen ADDR] [--db PATH] [--latency none|recorded|DURATION] [--no-reload] [--tls-cert FILE --tls-key FILE | --tls-local]",
		Description: `Serves FILE (bw's Backworks YAML, an original Backworks file or an OpenAPI 3
document; - reads it from standard input, once). With recordings (--db, or the file's recordings key) each request
gets the best-matching recorded response; otherwise the documented example,
the mock response, or an example generated from the schema. The Bw-Match
response header says which. Requests are validated against the description.
FILE is reloaded when it changes; a broken edit is reported and the old
version keeps serving. Admin endpoints: /__bw/health, /__bw/metrics,
/__bw/config. SIGINT or SIGTERM lets in-flight requests finish.

Without --listen, bw serve listens on the file's server host and port, else
127.0.0.1:3000. Recordings: --db (or BW_DB) when given, else the file's
recordings key, else ./bw.db if it exists.

Examples:
   bw infer > api.yaml && bw serve api.yaml
   bw serve openapi.yaml --listen 127.0.0.1:4010 --latency 50ms
   curl -i http://127.0.0.1:3000/users/42`,
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Usage: "`ADDR` to listen on (default: the file's server, else " + serve.DefaultListen + ")"},
			&cli.StringFlag{Name: "latency", Value: "none", Usage: "delay answers: none, recorded (as long as the recording took) or a `DURATION` like 50ms"},
			&cli.BoolFlag{Name: "no-reload", Usage: "do not reload FILE when it changes"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS (and HTTP/2) with this certificate `FILE` (PEM), with --tls-key"},
			&cli.StringFlag{Name: "tls-key", Usage: "the private key `FILE` (PEM) of --tls-cert"},
			&cli.BoolFlag{Name: "tls-local", Usage: "serve HTTPS with a certificate from the local bw CA (created on first use; see bw ca)"},
			caDirFlag(),
		},
		Action: runServe,
	}
}

// serveConfig turns the arguments and flags into a serve.Config, checking
// them all before any work is done.
func serveConfig(c *cli.Context) (serve.Config, error) {
	var cfg serve.Config
	args := c.Args().Slice()
	if len(args) != 1 {
		return cfg, usageError("serve: expected one FILE, got %d argument(s); e.g. bw serve api.yaml", len(args))
	}
	lat, err := serve.ParseLatency(c.String("latency"))
	if err != nil {
		return cfg, usageError("serve: --latency: %v", err)
	}
	if c.IsSet("listen") && c.String("listen") == "" {
		return cfg, usageError("serve: --listen must not be empty; e.g. --listen 127.0.0.1:3000")
	}
	cfg = serve.Config{
		File:     args[0],
		Listen:   c.String("listen"),
		Latency:  lat,
		NoReload: c.Bool("no-reload"),
		Logger:   logger(c),
	}
	if cfg.File == "-" {
		// Standard input is read once: nothing to reload.
		data, name, err := readInput(c, cfg.File)
		if err != nil {
			return cfg, err
		}
		cfg.Load = func(string) (*api.Doc, error) { return api.Parse(name, data) }
		cfg.NoReload = true
	}
	if cfg.TLS, err = serveTLS(c); err != nil {
		return cfg, err
	}
	// A named recordings file wins over the one FILE names; the default
	// ./bw.db is replayed only when FILE names none and it exists.
	if c.IsSet("db") {
		cfg.DB = dbPath(c)
	} else {
		cfg.FallbackDB = dbPath(c)
	}
	if !c.Bool("quiet") {
		cfg.AccessLog = cfg.Logger
	}
	return cfg, nil
}

func runServe(c *cli.Context) error {
	cfg, err := serveConfig(c)
	if err != nil {
		return err
	}
	s, err := serve.New(cfg)
	if err != nil {
		return err
	}
	lowLatencyGC(400)
	ctx := c.Context
	if err := s.Start(ctx); err != nil {
		s.Close(context.Background())
		if !c.IsSet("listen") {
			return fmt.Errorf("%w; pick another address with --listen", err)
		}
		return err
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	fmt.Fprintf(c.App.ErrWriter, "listening on %s://%s\n", scheme, s.Addr())
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	start := time.Now()
	err = s.Close(sctx)
	logger(c).Debug("stopped", "shutdown_seconds", time.Since(start).Seconds())
	return err
}

// serveTLS builds the TLS configuration the flags ask for, or nil for HTTP.
func serveTLS(c *cli.Context) (*tls.Config, error) {
	cert, key, local := c.String("tls-cert"), c.String("tls-key"), c.Bool("tls-local")
	switch {
	case local && (cert != "" || key != ""):
		return nil, usageError("serve: --tls-local issues its own certificate; drop --tls-cert/--tls-key, or drop --tls-local")
	case (cert == "") != (key == ""):
		return nil, usageError("serve: --tls-cert and --tls-key go together")
	case cert != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("serve: load %s and %s: %w", cert, key, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}, nil
	case local:
		authority, err := openCA(c)
		if err != nil {
			return nil, err
		}
		host, _, err := net.SplitHostPort(c.String("listen"))
		if err != nil || host == "" {
			host = "localhost"
		}
		return authority.ServerConfig(host), nil
	}
	return nil, nil
}
