// Package api holds an API description as bw serves and tests it: the
// [Doc] model, loaded from Backworks YAML (bw's own, or the original
// project's map and list files) or from an OpenAPI 3.0/3.1 document.
package api
