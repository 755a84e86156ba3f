package replay

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/backworks/bw/store"
)

// Recordings hold placeholders where the store redacted secrets (see
// store.Redactor): sending one would only earn a 401 or a 422 and report
// it as a broken contract, and it leaks what the recording is made of. A
// request that would carry one is skipped, the reason saying where and
// what supplies the real value.

// reRecord is the fix for a placeholder no flag of bw test can replace.
const reRecord = "; re-record with --no-redact to replay it"

// mayHoldPlaceholder is a cheap test that spares the full check for most
// requests; it errs on the side of yes (escaped colons, other words).
func mayHoldPlaceholder(rq *store.Request) bool {
	const stem = "redacted"
	if strings.Contains(rq.Path, stem) || strings.Contains(rq.RawQuery, stem) || bytes.Contains(rq.Body.Data, []byte(stem)) {
		return true
	}
	for _, f := range rq.Header {
		if strings.Contains(f.Value, stem) {
			return true
		}
	}
	return false
}

// placeholderIn says where a request as sent would carry a redacted
// placeholder, as a skip reason, or "" when it carries none.
func placeholderIn(path, query string, body []byte, media string) string {
	if p, err := url.PathUnescape(path); strings.Contains(path, store.RedactedPrefix) || err == nil && strings.Contains(p, store.RedactedPrefix) {
		return "the path holds a value redacted at capture" + reRecord
	}
	if name, ok := redactedPair(query); ok {
		return "query parameter " + name + " was redacted at capture" + reRecord
	}
	if !bytes.Contains(body, []byte(store.RedactedPrefix)) {
		return ""
	}
	switch {
	case isJSONMedia(media) || media == "" && looksJSON(body):
		if v, err := parseJSON(body); err == nil {
			if p := redactedLeaf(v); p != "" {
				return "body field " + p + " was redacted at capture" + reRecord
			}
		}
	case media == "application/x-www-form-urlencoded":
		if name, ok := redactedPair(string(body)); ok {
			return "body field " + name + " was redacted at capture" + reRecord
		}
	}
	return "the body holds a value redacted at capture" + reRecord
}

func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// redactedPair returns the name of the first pair of a query or form body
// whose value holds a placeholder.
func redactedPair(raw string) (string, bool) {
	if !strings.Contains(raw, "redacted") {
		return "", false
	}
	for kv := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		if !strings.Contains(v, store.RedactedPrefix) {
			continue
		}
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		return k, true
	}
	return "", false
}

// redactedLeaf returns the JSON path of a string that holds a placeholder,
// the first in path order so that the reason is the same every run, or "".
func redactedLeaf(v any) string {
	first := ""
	walkLeaves(v, nil, func(path []seg, leaf any) {
		if s, ok := leaf.(string); ok && strings.Contains(s, store.RedactedPrefix) {
			if p := pathString(path, false); first == "" || p < first {
				first = p
			}
		}
	})
	return first
}
