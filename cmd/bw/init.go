package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "write a commented starter api.yaml that serves as is",
		UsageText: "bw init [--template mock|proxy] [-o FILE] [--force]\n\n" +
			"Templates:\n   mock    " + starters["mock"].about + " (default)\n   proxy   " + starters["proxy"].about + "\n\n" +
			"Examples:\n   bw init && bw serve api.yaml\n   bw init --template proxy -o gateway.yaml",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "template", Aliases: []string{"t"}, Value: "mock", Usage: "`NAME` of the starter: " + strings.Join(templateNames(), ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "api.yaml", Usage: "write to `FILE` (- for stdout)"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite FILE if it exists"},
		},
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			name, out := c.String("template"), c.String("output")
			tpl, ok := starters[name]
			switch {
			case !ok:
				return usageError("init: unknown template %q; templates: %s", name, strings.Join(templateNames(), ", "))
			case out == "":
				return usageError("init: -o needs a file name (or - for stdout)")
			case out == "-" && c.Bool("force"):
				return usageError("init: --force has no effect with -o -; drop it")
			}
			if out == "-" {
				_, err := fmt.Fprint(c.App.Writer, tpl.text)
				return err
			}
			if c.Bool("force") {
				if err := writeFileAtomic(out, []byte(tpl.text)); err != nil {
					return err
				}
			} else if err := writeNew(out, tpl.text); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return usageError("init: %s exists; use --force to overwrite it or -o to write elsewhere", out)
				}
				return err
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.ErrWriter, "wrote %s (%s template); next: bw validate %s && bw serve %s\n", out, name, out, out)
			}
			return nil
		},
	}
}

// writeNew creates path, failing with fs.ErrExist if it is there.
func writeNew(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("init: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("init: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("init: write %s: %w", path, err)
	}
	return nil
}

// starter is a template bw init writes.
type starter struct {
	about string
	text  string
}

func templateNames() []string { return []string{"mock", "proxy"} }

var starters = map[string]starter{
	"mock":  {"mock endpoints with examples and fixed answers", mockTemplate},
	"proxy": {"a proxy to two upstreams with load balancing and health checks", proxyTemplate},
}

const mockTemplate = `# api.yaml: an API description in Backworks YAML, written by bw init.
#
#   bw validate api.yaml     check it: every problem as FILE:LINE:COL
#   bw serve api.yaml        serve it (default http://127.0.0.1:3000)
#
# Each endpoint answers from its mock_responses, else from the example of its
# first 2xx response, else with a value made up from the response schema.
# With recordings (bw capture, then bw serve --db bw.db) the best-matching
# recorded response is replayed instead. bw serve reloads this file on save.

name: My API
version: "0.1.0"
description: A starter API; replace the endpoints with yours
mode: mock                      # default for endpoints: mock | proxy
server: {host: 127.0.0.1, port: 3000}

# Uncomment to limit each client IP to 600 requests a minute (bursts of 50)
# and to choose what schema mismatches do (enforce: reject, report: log).
# security:
#   rate_limiting: {enabled: true, requests_per_minute: 600, burst_size: 50, key_generator: ip}
#   validation: {requests: enforce, responses: report, max_body_size: 10MiB}

endpoints:
  list_users:                   # a name of your choice, unique in the file
    path: /users
    methods: [GET]
    parameters:
      - name: limit
        in: query
        required: false
        schema: {type: integer, minimum: 1, maximum: 100}
    responses:
      "200":
        content_type: application/json
        schema:
          type: array
          items: {$ref: "#/components/schemas/User"}
        example:
          - {id: 1, name: Ann, email: ann@example.com}
          - {id: 2, name: Bob, email: bob@example.com}

  get_user:
    path: /users/{id}           # {id} matches one path segment
    methods: [GET]
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    responses:
      "200":
        content_type: application/json
        schema: {$ref: "#/components/schemas/User"}
        example: {id: 1, name: Ann, email: ann@example.com}
      "404":
        content_type: application/problem+json
        schema: {$ref: "#/components/schemas/Problem"}
        example: {type: "about:blank", title: Not Found, status: 404, detail: no such user}

  create_user:
    path: /users
    methods: [POST]
    request:                    # requests are checked against this schema
      content_type: application/json
      required: true
      schema: {$ref: "#/components/schemas/NewUser"}
    # A fixed answer by method (or "METHOD /path"): status, headers, body.
    mock_responses:
      POST:
        status: 201
        headers: {Location: /users/3}
        body: {id: 3, name: Cy, email: cy@example.com}
    responses:
      "201":
        content_type: application/json
        schema: {$ref: "#/components/schemas/User"}
    # rate_limit: {requests_per_minute: 60, burst_size: 10}   # this endpoint only

components:
  schemas:                      # JSON Schema, as in OpenAPI 3.1
    User:
      type: object
      required: [id, name, email]
      properties:
        id: {type: integer}
        name: {type: string}
        email: {type: string, format: email}
        nickname: {type: [string, "null"]}
    NewUser:
      type: object
      required: [name, email]
      properties:
        name: {type: string, minLength: 1}
        email: {type: string, format: email}
    Problem:
      type: object
      properties:
        type: {type: string}
        title: {type: string}
        status: {type: integer}
        detail: {type: string}
`

const proxyTemplate = `# api.yaml: a proxy in Backworks YAML, written by bw init.
#
#   bw validate api.yaml     check it: every problem as FILE:LINE:COL
#   bw serve api.yaml        serve it (default http://127.0.0.1:3000)
#
# Requests under /api/ go to two upstreams; point the urls at your services
# (until they answer, bw serve replies 502). bw serve reloads this file on save.

name: My Gateway
version: "0.1.0"
mode: proxy                     # default for endpoints: mock | proxy
server: {host: 127.0.0.1, port: 3000}

# Uncomment to limit each client IP to 600 requests a minute (bursts of 50).
# security:
#   rate_limiting: {enabled: true, requests_per_minute: 600, burst_size: 50, key_generator: ip}

endpoints:
  api:
    path: /api/*                # * matches the rest of the path
    proxy:
      targets:
        - name: primary
          url: http://127.0.0.1:9001
          weight: 3             # with weighted balancing, 3 of every 4 requests
          health_check: {path: /health, interval: 5s, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 3}
        - name: secondary
          url: http://127.0.0.1:9002
          weight: 1
          health_check: {path: /health, interval: 5s, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 3}
      # round_robin (default), weighted, ip_hash, least_connections, consistent_hash
      load_balancing: {algorithm: weighted}
      strip_prefix: /api        # /api/users reaches the upstream as /users
      timeout: 30s

  health:                       # answered by bw itself, not proxied
    path: /health
    mode: mock
    methods: [GET]
    mock_responses:
      GET: {status: 200, body: {status: ok}}
`
