package serve

import "github.com/backworks/bw/api"

// loadDoc reads an API description file when Config.Load is nil.
func loadDoc(path string) (*api.Doc, error) { return api.Load(path) }
