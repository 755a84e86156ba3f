package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// Load reads the API description in the file at path; see [Parse].
func Load(path string) (*Doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Problems{{File: path, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Parse(path, data)
}

// Parse reads an API description: an OpenAPI 3.0 or 3.1 document (JSON or
// YAML), bw's Backworks YAML, or an original Backworks map or list file; name
// is the file name problems are reported against. When the file cannot be
// served it returns a nil Doc and a [Problems] error holding every problem,
// warnings included; otherwise the warnings are in Doc.Warnings.
func Parse(name string, data []byte) (*Doc, error) {
	p := &parser{file: name}
	doc := p.parse(data)
	probs := sortProblems(p.probs)
	if probs.Errors() != nil {
		return nil, probs
	}
	doc.File = name
	doc.Warnings = probs
	return doc, nil
}

func (p *parser) parse(data []byte) *Doc {
	root := p.readYAML(data)
	if root == nil {
		return nil
	}
	fs, ok := p.fields(root, "")
	if !ok {
		return nil
	}
	for _, f := range fs {
		switch f.name {
		case "swagger":
			p.errorf(f.key, "", "Swagger %s is not supported; convert it to OpenAPI 3 first (for example with https://converter.swagger.io or npx swagger2openapi)",
				deref(f.val).Value)
			return nil
		case "openapi":
			v, _ := p.str(f.val, f.path)
			if d := deref(f.val); d != nil && d.Kind == yaml.ScalarNode && d.ShortTag() != "!!str" {
				p.errorf(f.val, f.path, "write the version as a string, like \"%s.0\" (YAML reads %s as a number)", v, v)
				return nil
			}
			if !strings.HasPrefix(v, "3.") {
				p.errorf(f.val, f.path, "OpenAPI %q is not supported; bw reads OpenAPI 3.0 and 3.1", v)
				return nil
			}
			return p.parseOpenAPI(root, data)
		}
	}
	doc, src := p.parseBackworks(root)
	p.buildOpenAPI(doc, src)
	return doc
}

// readYAML parses one YAML document and returns its root node; syntax
// errors are reported with their line and column.
func (p *parser) readYAML(data []byte) *yaml.Node {
	if len(bytes.TrimSpace(data)) == 0 {
		p.errorf(nil, "", "empty file; expected Backworks YAML or an OpenAPI document")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "", "empty file; expected Backworks YAML or an OpenAPI document")
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.errorf(&next, "", "a second YAML document: bw reads one document per file")
		return nil
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorf(nil, "", "empty file; expected Backworks YAML or an OpenAPI document")
		return nil
	}
	root := doc.Content[0]
	if d := deref(root); d == nil || d.Kind != yaml.MappingNode {
		p.errorf(root, "", "expected a mapping with name and endpoints (Backworks) or openapi and paths (OpenAPI), got %s", kindName(root))
		return nil
	}
	return root
}

var lineRE = regexp.MustCompile(`line (\d+)(?::(\d+))?: `)

func (p *parser) syntaxError(err error) {
	var le *yaml.LoadError
	if errors.As(err, &le) {
		msg := le.Message
		if le.ContextMsg != "" && le.ContextMark.Line != le.Mark.Line {
			msg = fmt.Sprintf("%s (%s at line %d)", msg, le.ContextMsg, le.ContextMark.Line)
		}
		p.probs = append(p.probs, Problem{File: p.file, Pos: Position{Line: le.Mark.Line, Col: le.Mark.Column},
			Message: "invalid YAML: " + msg})
		return
	}
	var les *yaml.LoadErrors
	if errors.As(err, &les) && len(les.Errors) > 0 {
		for _, e := range les.Errors {
			p.syntaxError(e)
		}
		return
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var at Position
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		at.Line, _ = strconv.Atoi(m[1])
		at.Col, _ = strconv.Atoi(m[2])
		msg = strings.Replace(msg, m[0], "", 1)
	}
	p.probs = append(p.probs, Problem{File: p.file, Pos: at, Message: "invalid YAML: " + msg})
}
