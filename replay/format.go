package replay

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/backworks/bw/store"
)

// format classifies a JSON value more finely than its type: a noisy field
// must keep its type and format, not its value.
type format uint8

const (
	fmtString   format = iota // any other string
	fmtEmpty                  // ""
	fmtDateTime               // RFC 3339 and close relatives
	fmtDate                   // 2006-01-02
	fmtHTTPDate               // Mon, 02 Jan 2006 15:04:05 GMT
	fmtUUID
	fmtULID
	fmtJWT
	fmtHex      // 16 or more hex digits
	fmtRedacted // a store placeholder
	fmtToken    // a long random-looking string
	fmtInteger
	fmtNumber // a number with a fraction or exponent
	fmtOther  // bool, null, object, array
)

var formatNames = [...]string{
	fmtString: "string", fmtEmpty: "empty", fmtDateTime: "date-time", fmtDate: "date",
	fmtHTTPDate: "http-date", fmtUUID: "uuid", fmtULID: "ulid", fmtJWT: "jwt", fmtHex: "hex",
	fmtRedacted: "redacted", fmtToken: "token", fmtInteger: "integer", fmtNumber: "number",
	fmtOther: "other",
}

func (f format) String() string { return formatNames[f] }

// volatile reports whether values of this format are expected to change
// from one call to the next (timestamps, generated ids, tokens).
func (f format) volatile() bool {
	switch f {
	case fmtDateTime, fmtHTTPDate, fmtUUID, fmtULID, fmtJWT, fmtHex, fmtRedacted, fmtToken:
		return true
	}
	return false
}

// formatOf classifies a decoded JSON value.
func formatOf(v any) format {
	switch v := v.(type) {
	case string:
		return stringFormat(v)
	case json.Number:
		if isInteger(string(v)) {
			return fmtInteger
		}
		return fmtNumber
	}
	return fmtOther
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stringFormat classifies a string value.
func stringFormat(s string) format {
	switch {
	case s == "":
		return fmtEmpty
	case strings.Contains(s, store.RedactedPrefix):
		return fmtRedacted
	case isUUID(s):
		return fmtUUID
	case isULID(s):
		return fmtULID
	case isDateTime(s):
		return fmtDateTime
	case isDate(s):
		return fmtDate
	case len(s) == len(http.TimeFormat) && strings.HasSuffix(s, " GMT"):
		if _, err := time.Parse(http.TimeFormat, s); err == nil {
			return fmtHTTPDate
		}
	case isJWT(s):
		return fmtJWT
	case len(s) >= 16 && isHex(s):
		return fmtHex
	case isToken(s):
		return fmtToken
	}
	return fmtString
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	return isHex(s[:8]) && isHex(s[9:13]) && isHex(s[14:18]) && isHex(s[19:23]) && isHex(s[24:])
}

func isULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
		case 'A' <= c && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U':
		default:
			return false
		}
	}
	return digits > 0
}

var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
}

func isDateTime(s string) bool {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' {
		return false
	}
	for _, l := range dateTimeLayouts {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}

func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func isJWT(s string) bool {
	if !strings.HasPrefix(s, "eyJ") {
		return false
	}
	return strings.Count(s, ".") == 2
}

// isToken reports whether s looks like a random token: long, no spaces,
// letters and digits mixed, and either both cases of letters or no
// word-like run of six letters.
func isToken(s string) bool {
	if len(s) < 20 || len(s) > 4096 {
		return false
	}
	lower, upper, digits, run, longRun := 0, 0, 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			if c >= 'a' {
				lower++
			} else {
				upper++
			}
			if run++; run >= 6 {
				longRun = true
			}
		case '0' <= c && c <= '9':
			digits++
			run = 0
		case c == '-' || c == '_' || c == '+' || c == '/' || c == '=' || c == '.':
			run = 0
		default:
			return false
		}
	}
	return digits > 0 && lower+upper > 0 && (lower > 0 && upper > 0 || !longRun)
}

var nameStripper = strings.NewReplacer("_", "", "-", "", ".", "")

// volatileName reports whether a JSON field of this name usually changes
// on its own: timestamps, request and trace ids, uptimes, durations.
func volatileName(key string) bool {
	if key == "" {
		return false
	}
	k := strings.ToLower(key)
	if strings.HasSuffix(k, "_at") || strings.HasSuffix(key, "At") && len(key) > 2 {
		return true
	}
	if strings.ContainsAny(k, "_-.") {
		k = nameStripper.Replace(k)
	}
	switch k {
	case "timestamp", "ts", "time", "now", "servertime", "currenttime", "nonce", "etag",
		"elapsed", "took", "duration", "latency", "responsetime", "expiresin", "expires", "ttl":
		return true
	}
	for _, p := range []string{"uptime", "elapsed", "took", "latency", "duration"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for _, s := range []string{"requestid", "traceid", "spanid", "correlationid", "timestamp", "nonce"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// idName reports whether a JSON field of this name holds an identifier or
// a token that later requests may reuse (value chaining).
func idName(key string) bool {
	if key == "" {
		return false
	}
	k := strings.ToLower(key)
	switch k {
	case "id", "uuid", "guid", "slug", "key", "token", "cursor", "next", "handle", "ref", "href", "self", "url", "location", "link":
		return true
	}
	if k == "ids" || strings.HasSuffix(key, "Id") || strings.HasSuffix(key, "ID") || strings.HasSuffix(key, "Ids") ||
		strings.HasSuffix(key, "IDs") || strings.HasSuffix(key, "Uuid") {
		return true
	}
	for _, s := range []string{"_id", "-id", "_ids", "-ids", "_uuid", "_key", "token", "_cursor", "_ref", "_href", "_url", "_slug"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// urlName reports whether a field of this name holds a link whose last
// segment is an identifier.
func urlName(key string) bool {
	k := strings.ToLower(key)
	return k == "href" || k == "self" || k == "url" || k == "location" || k == "link" ||
		strings.HasSuffix(k, "_href") || strings.HasSuffix(k, "_url")
}

// idFormat reports whether a value looks like an identifier or a secret
// wherever it appears.
func idFormat(s string) bool {
	switch stringFormat(s) {
	case fmtUUID, fmtULID, fmtRedacted, fmtJWT, fmtHex, fmtToken:
		return true
	}
	return false
}

// chainSlot reports whether a value under this name (a JSON key, a query
// parameter, a header) may carry a chained value: the name says it is an
// identifier, or the value looks like one.
func chainSlot(name, value string) bool {
	return idName(name) || idFormat(value)
}
