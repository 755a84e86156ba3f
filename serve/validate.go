package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/backworks/bw/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// strictQueryExtension marks an operation, a path item or the whole
// document whose requests may not carry query parameters it does not
// declare. OpenAPI has no standard way to say so; without the extension,
// unknown query parameters are allowed, as OpenAPI validators do.
//
//	paths:
//	  /pets:
//	    get:
//	      x-bw-strict-query: true
const strictQueryExtension = "x-bw-strict-query"

// openAPIIndex finds the OpenAPI operation of an endpoint by its path
// template, ignoring parameter names.
type openAPIIndex struct {
	doc    *openapi3.T
	fast   *openapi3.T       // doc labelled 3.0, for 3.1 documents; see bind
	byPath map[string]string // canonical template -> path key
	strict bool              // document-level x-bw-strict-query
}

func newOpenAPIIndex(doc *openapi3.T) *openAPIIndex {
	idx := &openAPIIndex{doc: doc, byPath: map[string]string{}}
	if doc == nil || doc.Paths == nil {
		return idx
	}
	idx.strict = extensionTrue(doc.Extensions, strictQueryExtension)
	if doc.IsOpenAPI31OrLater() {
		fast := *doc
		fast.OpenAPI = "3.0.3"
		idx.fast = &fast
	}
	for key := range doc.Paths.Map() {
		segs, err := parseTemplate(key)
		if err != nil {
			continue
		}
		c := canonicalTemplate(segs)
		if prev, dup := idx.byPath[c]; !dup || key < prev {
			idx.byPath[c] = key
		}
	}
	return idx
}

func extensionTrue(ext map[string]any, name string) bool {
	switch v := ext[name].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// bind attaches the OpenAPI operation of op, when the document has one.
func (idx *openAPIIndex) bind(op *operation) {
	if idx.doc == nil || op.method == "*" {
		return
	}
	key, ok := idx.byPath[canonicalTemplate(op.route.segs)]
	if !ok {
		return
	}
	item := idx.doc.Paths.Value(key)
	oop := item.GetOperation(op.method)
	if oop == nil {
		return
	}
	// For a 3.1 document kin-openapi validates with a JSON Schema 2020-12
	// validator that it compiles anew for every value (milliseconds per
	// request). Its own validator (microseconds) knows type arrays, and
	// what else inferred and most written schemas use; only operations
	// whose schemas need 2020-12 keywords (const, prefixItems, if/then,
	// unevaluated*, ...) are validated the slow way.
	spec := idx.doc
	if idx.fast != nil && !needsJSONSchema2020(item, oop) {
		spec = idx.fast
	}
	op.kin = &routers.Route{Spec: spec, Path: key, PathItem: item, Method: op.method, Operation: oop}
	if segs, err := parseTemplate(key); err == nil {
		for _, s := range segs {
			if s.kind == segParam || s.kind == segPattern {
				op.oaParams = append(op.oaParams, s.name)
			}
		}
	}
	op.strictQuery = idx.strict || extensionTrue(item.Extensions, strictQueryExtension) ||
		extensionTrue(oop.Extensions, strictQueryExtension)
	if op.strictQuery {
		op.knownQuery = map[string]bool{}
		for _, params := range []openapi3.Parameters{item.Parameters, oop.Parameters} {
			for _, p := range params {
				if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
					op.knownQuery[p.Value.Name] = true
				}
			}
		}
	}
	op.urlOnly = true
	for _, params := range []openapi3.Parameters{item.Parameters, oop.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In != openapi3.ParameterInPath && p.Value.In != openapi3.ParameterInQuery {
				op.urlOnly = false
			}
		}
	}
	if rb := oop.RequestBody; rb != nil && rb.Value != nil && len(rb.Value.Content) > 0 {
		op.reqContent = rb.Value.Content
		op.reqTypes = nil
		for ct := range rb.Value.Content {
			op.reqTypes = append(op.reqTypes, ct)
		}
		slices.Sort(op.reqTypes)
	}
}

// maxValidURLs bounds the valid path-and-query pairs remembered per
// operation.
const maxValidURLs = 4096

// validationOptions are the openapi3filter options for every check: all
// violations at once, no defaults written into the request, security
// schemes not enforced (bw serve is a mock; it does not check
// credentials), and the formats uuid, email, ipv4 and ipv6 checked on top
// of kin-openapi's own (date, date-time, byte, int32, int64), without
// touching its global format registry.
var validationOptions = &openapi3filter.Options{
	MultiError:          true,
	SkipSettingDefaults: true,
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
			"uuid":  openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562),
			"email": openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail),
			"ipv4":  openapi3.NewIPValidator(true),
			"ipv6":  openapi3.NewIPValidator(false),
		}),
	},
}

// validateRequest checks the request against the operation's OpenAPI
// description. With requests enforced, an invalid request gets a 400
// listing every violation, or the operation's own documented 400/422
// example; it reports whether to go on.
func (st *site) validateRequest(w http.ResponseWriter, r *http.Request, op *operation, params []param, body []byte) bool {
	if op.kin == nil || st.reqMode == api.Off {
		return true
	}
	// Without a body and without header or cookie parameters, validity
	// depends on the path and query alone: remember the valid ones.
	var key uint64
	cacheable := len(body) == 0 && op.urlOnly
	if cacheable {
		key = hashString(r.URL.EscapedPath() + "?" + r.URL.RawQuery)
		if _, ok := op.validURLs.Load(key); ok {
			return true
		}
	}
	vs := st.requestViolations(r, op, params, body)
	if len(vs) == 0 {
		if cacheable && op.nValid.Load() < maxValidURLs {
			if _, loaded := op.validURLs.LoadOrStore(key, struct{}{}); !loaded {
				op.nValid.Add(1)
			}
		}
		return true
	}
	st.srv.metrics.validation.WithLabelValues("request", op.route.template).Inc()
	st.log.Info("invalid request", "method", r.Method, "path", r.URL.Path, "route", op.route.template,
		"violations", len(vs), "first", vs[0].Location+": "+vs[0].Message)
	if st.reqMode != api.Enforce {
		return true
	}
	if rp := op.errReply; rp != nil {
		st.writeReply(w, r, op, rp, 0)
		return false
	}
	detail := fmt.Sprintf("the request does not match %s %s: %d violation(s)", op.method, op.kin.Path, len(vs))
	writeProblem(w, &Problem{Type: typeInvalidRequest, Status: http.StatusBadRequest, Detail: detail, Errors: vs})
	return false
}

func (st *site) requestViolations(r *http.Request, op *operation, params []param, body []byte) []Violation {
	// kin reads the body: give it its own request value with a body of
	// its own (with SkipSettingDefaults it writes nothing else).
	req := new(http.Request)
	*req = *r
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		req.Body = http.NoBody
	}
	if req.Method == http.MethodHead {
		req.Method = op.method
	}
	pp := make(map[string]string, len(params))
	for i, p := range params {
		name := p.name
		if i < len(op.oaParams) {
			name = op.oaParams[i]
		}
		pp[name] = p.value
	}
	query := r.URL.Query()
	in := &openapi3filter.RequestValidationInput{
		Request:     req,
		PathParams:  pp,
		QueryParams: query,
		Route:       op.kin,
		Options:     validationOptions,
	}
	var vs []Violation
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		vs = violations(err, "")
	}
	if op.strictQuery {
		var unknown []string
		for name := range query {
			if !op.knownQuery[name] {
				unknown = append(unknown, name)
			}
		}
		slices.Sort(unknown)
		for _, name := range unknown {
			vs = append(vs, Violation{Location: "query." + name, Message: "unknown query parameter (the operation allows only those it declares)"})
		}
	}
	return vs
}

// violations flattens a kin-openapi validation error into one violation
// per failure; where is the location of the enclosing error.
func violations(err error, where string) []Violation {
	var out []Violation
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, sub := range e {
			out = append(out, violations(sub, where)...)
		}
	case *openapi3filter.RequestError:
		loc := "body"
		if e.Parameter != nil {
			loc = e.Parameter.In + "." + e.Parameter.Name
		}
		switch {
		case e.Err == nil:
			out = append(out, Violation{Location: loc, Message: e.Reason})
		case errors.Is(e.Err, openapi3filter.ErrInvalidRequired):
			msg := "a request body is required"
			if e.Parameter != nil {
				msg = "required " + e.Parameter.In + " parameter is missing"
			}
			out = append(out, Violation{Location: loc, Message: msg})
		case errors.Is(e.Err, openapi3filter.ErrInvalidEmptyValue):
			out = append(out, Violation{Location: loc, Message: "empty value is not allowed"})
		default:
			out = append(out, violations(e.Err, loc)...)
		}
	case *openapi3filter.ResponseError:
		if e.Err == nil {
			out = append(out, Violation{Location: where, Message: e.Reason})
		} else {
			out = append(out, violations(e.Err, where)...)
		}
	case *openapi3.SchemaError:
		// The JSON Schema 2020-12 validator nests the failures of
		// subschemas under the one of the schema: report the leaves.
		var causes openapi3.MultiError
		if e.Origin != nil && errors.As(e.Origin, &causes) {
			for _, c := range causes {
				out = append(out, violations(c, where)...)
			}
			if len(out) > 0 {
				return out
			}
		}
		loc := where
		if ptr := e.JSONPointer(); len(ptr) > 0 && strings.HasSuffix(where, "body") {
			loc = where + "." + strings.Join(ptr, ".")
		}
		out = append(out, Violation{Location: loc, Message: schemaMessage(e)})
	case *openapi3filter.ParseError:
		out = append(out, Violation{Location: where, Message: "cannot parse the value: " + e.Error()})
	case *openapi3filter.SecurityRequirementsError:
		// security schemes are not enforced
	default:
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			return violations(se, where)
		}
		out = append(out, Violation{Location: where, Message: err.Error()})
	}
	return out
}

// schemaMessage is a schema error's reason without the location prefixes
// the 2020-12 validator puts in it ("error at \"/a\": at '/a': ...").
func schemaMessage(e *openapi3.SchemaError) string {
	msg := e.Reason
	if msg == "" {
		msg = e.Error()
	}
	if strings.HasPrefix(msg, "error at ") {
		if _, rest, ok := strings.Cut(msg, "\": "); ok {
			msg = rest
		}
	}
	if strings.HasPrefix(msg, "at '") {
		if _, rest, ok := strings.Cut(msg, "': "); ok {
			msg = rest
		}
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// validity caches the outcome of validating a fixed answer: recorded and
// example responses do not change, so each is checked once.
type validity struct {
	state atomic.Pointer[[]Violation] // nil: not checked; empty: valid
}

// responseViolations checks a response against the operation; status,
// header and (identity-encoded) body as sent.
func (st *site) responseViolations(ctx context.Context, r *http.Request, op *operation, status int, header http.Header, body []byte) []Violation {
	req := new(http.Request)
	*req = *r
	req.Body = http.NoBody
	if req.Method == http.MethodHead {
		req.Method = op.method
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: op.kin, Options: validationOptions},
		Status:                 status,
		Header:                 header,
		Options:                validationOptions,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		vs := violations(err, "response.body")
		for i := range vs {
			vs[i].Location = strings.Replace(vs[i].Location, "response.body", "body", 1)
			if strings.HasPrefix(vs[i].Message, "response header ") {
				vs[i].Location = "header"
			}
		}
		return vs
	}
	return nil
}

// needsJSONSchema2020 reports whether a schema of the operation uses a
// keyword only the JSON Schema 2020-12 validator checks.
func needsJSONSchema2020(item *openapi3.PathItem, op *openapi3.Operation) bool {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef) bool
	walk = func(ref *openapi3.SchemaRef) bool {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return false
		}
		s := ref.Value
		seen[s] = true
		if s.Const != nil || len(s.PrefixItems) > 0 || s.Contains != nil || len(s.PatternProperties) > 0 ||
			len(s.DependentSchemas) > 0 || s.PropertyNames != nil || s.UnevaluatedItems.Has != nil ||
			s.UnevaluatedItems.Schema != nil || s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil ||
			s.If != nil || s.Then != nil || s.Else != nil || len(s.DependentRequired) > 0 || s.ContentSchema != nil {
			return true
		}
		if walk(s.Items) || walk(s.Not) || walk(s.AdditionalProperties.Schema) {
			return true
		}
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, sub := range list {
				if walk(sub) {
					return true
				}
			}
		}
		for _, sub := range s.Properties {
			if walk(sub) {
				return true
			}
		}
		return false
	}
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range params {
			if p.Value != nil && walk(p.Value.Schema) {
				return true
			}
		}
	}
	content := func(c openapi3.Content) bool {
		for _, mt := range c {
			if mt != nil && walk(mt.Schema) {
				return true
			}
		}
		return false
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil && content(op.RequestBody.Value.Content) {
		return true
	}
	if op.Responses != nil {
		for _, res := range op.Responses.Map() {
			if res.Value == nil {
				continue
			}
			if content(res.Value.Content) {
				return true
			}
			for _, h := range res.Value.Headers {
				if h.Value != nil && walk(h.Value.Schema) {
					return true
				}
			}
		}
	}
	return false
}
