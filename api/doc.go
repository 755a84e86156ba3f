// Package api holds an API description as bw serves and tests it: the
// [Doc] model, read by [Load] and [Parse] from bw's Backworks YAML, the
// original Backworks project's map and list files, or an OpenAPI 3.0/3.1
// document (JSON or YAML). Parsing has no side effects: it reads bytes and
// returns a Doc or the problems, never the environment or the network.
//
// # Backworks YAML
//
// bw's own format (what bw infer writes) lists endpoints by name, with
// parameters, request and responses described by JSON Schema in OpenAPI 3.1
// form (type: [string, "null"] included) and shared schemas and security
// schemes under components. Endpoints keep their file order. Doc.OpenAPI is
// an OpenAPI 3.1 document built from them, one operation per method, so that
// kin-openapi's openapi3filter can check requests and responses; endpoints
// whose path ends in a wildcard, or that take every method, have no
// operation in it. Each operation's x-bw-endpoint extension names its
// endpoint. Every default is filled in: mock mode, requests enforced,
// responses reported, 10 MiB bodies.
//
// # Original Backworks files
//
// The original project's files load as they are: paths in {id}, :id, * and
// *rest syntax (read as {id} and a trailing {rest*}), durations as 30, "30s"
// or {secs: 30, nanos: 0}, enum values in PascalCase or snake_case, mock.data
// and mock_responses, an endpoint's mode implied by its mock or proxy block,
// and the list ("blueprint") shape with generated endpoint names. Keys whose
// absence would change the answers (runtime and handler code, database,
// plugins, middleware, proxy transforms, authentication) are errors naming
// the key; keys that only configure the original's tooling (dashboard,
// logging, capture, ...) and unknown keys are warnings; x- keys are kept
// silently.
//
// # Problems
//
// Every problem is a [Problem] at a file position, FILE:LINE:COL: message,
// with the YAML path of the value at fault:
//
//	api.yaml:12:5: endpoints.users.rate_limit.requests_per_minute: must be > 0 (got -1)
//
// A file with errors yields a [Problems] error listing them all, errors
// first, then the warnings; a file with warnings only yields a Doc whose
// Warnings list them.
package api
