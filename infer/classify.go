package infer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
)

// segClass is what a path segment looks like on its own.
type segClass uint8

const (
	classText     segClass = iota // needs cardinality evidence to become a parameter
	classInt                      // 42
	classUUID                     // any version
	classObjectID                 // 24 hex digits (MongoDB)
	classHex                      // 32+ hex digits (hashes)
	classDate                     // 2024-05-01 or a date-time
	classToken                    // id-like: 6+ chars, 3+ digits, a letter

	// Identifier classes (rule 6): evidence enough on one sample, decided
	// when the trie is resolved so that a literal route's own shape can
	// still keep it literal (rule 7).
	className     // DNS name, e-mail, host:port, slug: named like the resource
	classSemver   // 1.2.3, v1.2.3-rc.1
	classPrefixed // ord_…, sk_live_…, cus_…, base64url: id-like
)

var (
	reUUID   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reHex    = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	reVer    = regexp.MustCompile(`^[vV]\d+(\.\d+)?([a-z]+\d*)?$|^\d+\.\d+$`)
	reSemver = regexp.MustCompile(`^[vV]?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$`)
	reLabel  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	rePrefix = regexp.MustCompile(`^[a-z]{2,8}(_[a-z]{2,8})?_[A-Za-z0-9]{6,}$`)
	reB64URL = regexp.MustCompile(`^[A-Za-z0-9_-]{16,}={0,2}$`)
	reSlug   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)
	reDate   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	reTime   = regexp.MustCompile(`^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$`)
	reEmail  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// classify says whether a segment is a parameter by its value alone (rule 4).
func classify(seg string) segClass {
	switch {
	case seg == "":
		return classText
	case isDigits(seg):
		return classInt
	case reUUID.MatchString(seg):
		return classUUID
	case len(seg) == 24 && reHex.MatchString(seg):
		return classObjectID
	case len(seg) >= 32 && reHex.MatchString(seg):
		return classHex
	case isDate(seg) || isDateTime(seg):
		return classDate
	case isToken(seg):
		return classToken
	}
	return classText
}

func isDigits(s string) bool {
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

// isToken: 6+ characters with 3+ digits and a letter, like "a1b2c3" or "ord_7H3k2".
func isToken(s string) bool {
	if len(s) < 6 || reVer.MatchString(s) || reSemver.MatchString(s) {
		return false
	}
	digits, letters := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
		case r == '-' || r == '_' || r == '.' || r == '~':
		default:
			return false
		}
	}
	return digits >= 3 && letters >= 1
}

// isVersion reports tokens like v1, v2.1, 2.0, v1beta1 that are never
// parameters; three-part versions (1.2.3) are semver identifiers instead.
func isVersion(s string) bool { return reVer.MatchString(s) }

func isDate(s string) bool {
	if !reDate.MatchString(s) {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func isDateTime(s string) bool {
	if len(s) < 16 || s[4] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// Formats bw claims for strings (rule 17), as a bit mask so that "every value
// matched" is an AND over samples.
type formatMask uint16

const (
	fmtDateTime formatMask = 1 << iota
	fmtDate
	fmtTime
	fmtUUID
	fmtEmail
	fmtIPv4
	fmtIPv6
	fmtURI
	fmtAll = fmtDateTime | fmtDate | fmtTime | fmtUUID | fmtEmail | fmtIPv4 | fmtIPv6 | fmtURI
)

var formatNames = []struct {
	m    formatMask
	name string
}{
	{fmtDateTime, "date-time"}, {fmtDate, "date"}, {fmtTime, "time"}, {fmtUUID, "uuid"},
	{fmtEmail, "email"}, {fmtIPv4, "ipv4"}, {fmtIPv6, "ipv6"}, {fmtURI, "uri"},
}

// formatsOf returns the formats s satisfies.
func formatsOf(s string) formatMask {
	if s == "" || len(s) > 2048 {
		return 0
	}
	var m formatMask
	c := s[0]
	switch {
	case len(s) >= 10 && c >= '0' && c <= '9' && s[4] == '-' && isDateTime(s):
		m |= fmtDateTime
	case len(s) == 10 && c >= '0' && c <= '9' && isDate(s):
		m |= fmtDate
	case len(s) >= 5 && len(s) <= 15 && s[2] == ':' && reTime.MatchString(s):
		if _, err := time.Parse("15:04:05", s[:min(8, len(s))]); err == nil || len(s) == 5 {
			m |= fmtTime
		}
	case len(s) == 36 && reUUID.MatchString(s):
		m |= fmtUUID
	case strings.IndexByte(s, '@') > 0 && len(s) < 320 && reEmail.MatchString(s):
		if _, err := mail.ParseAddress(s); err == nil {
			m |= fmtEmail
		}
	case strings.Contains(s, "://"):
		if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(s, " \t\n") {
			m |= fmtURI
		}
	default:
		if a, err := netip.ParseAddr(s); err == nil {
			if a.Is4() {
				m |= fmtIPv4
			} else if a.Is6() && strings.Contains(s, ":") {
				m |= fmtIPv6
			}
		}
	}
	return m
}

// formatName returns the one format in m, or "" when none or several.
func formatName(m formatMask) string {
	for _, f := range formatNames {
		if m == f.m {
			return f.name
		}
	}
	return ""
}

//go:embed words.txt.gz
var wordsGz []byte

// apiWords are words common in API paths that a general dictionary lacks.
var apiWords = strings.Fields(`api apis auth oauth oauth2 login logout signin signout signup sso
	admin config configs metadata info stats status healthz health livez readyz ping webhook webhooks
	sync async batch bulk upload uploads download downloads export import me self current
	json xml csv graphql rpc jwt token tokens refresh revoke verify userinfo whoami inbox outbox
	feed feeds timeline search autocomplete suggest find by findby`)

var dictionary = sync.OnceValue(func() map[string]bool {
	words := make(map[string]bool, 45000)
	zr, err := gzip.NewReader(bytes.NewReader(wordsGz))
	if err != nil {
		panic("infer: embedded word list: " + err.Error())
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		words[sc.Text()] = true
	}
	for _, w := range apiWords {
		words[w] = true
	}
	return words
})

// isDictionaryWord reports whether seg is made of dictionary words:
// "me", "findByStatus", "order-items", "search_all".
func isDictionaryWord(seg string) bool {
	parts := splitWords(seg)
	if len(parts) == 0 {
		return false
	}
	dict := dictionary()
	for _, p := range parts {
		if !dict[p] && !dict[strings.TrimSuffix(p, "s")] {
			return false
		}
	}
	return true
}

// splitWords splits camelCase, kebab-case and snake_case into lower-case
// words; it returns nil when seg has characters other than letters and
// separators.
func splitWords(seg string) []string {
	var parts []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range seg {
		switch {
		case r == '-' || r == '_' || r == '.':
			flush()
			prevLower = false
		case unicode.IsLetter(r):
			if unicode.IsUpper(r) && prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = unicode.IsLower(r)
		default:
			return nil
		}
	}
	flush()
	return parts
}

// singular turns a plural path segment into a parameter name stem:
// "users" -> "user", "categories" -> "category", "user-groups" -> "userGroup".
func singular(seg string) string {
	parts := splitWords(seg)
	if len(parts) == 0 {
		return ""
	}
	last := parts[len(parts)-1]
	switch {
	case last == "people":
		last = "person"
	case last == "children":
		last = "child"
	case strings.HasSuffix(last, "ies") && len(last) > 4:
		last = last[:len(last)-3] + "y"
	case strings.HasSuffix(last, "sses"), strings.HasSuffix(last, "xes"), strings.HasSuffix(last, "ches"),
		strings.HasSuffix(last, "shes"), strings.HasSuffix(last, "zes"):
		last = last[:len(last)-2]
	case strings.HasSuffix(last, "ss"), strings.HasSuffix(last, "us"), strings.HasSuffix(last, "is"):
	case strings.HasSuffix(last, "s") && len(last) > 2:
		last = last[:len(last)-1]
	}
	parts[len(parts)-1] = last
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// fileExt are last labels that make a dotted name a file, not a host.
var fileExt = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`html htm xhtml json jsonld xml yaml yml txt text csv tsv pdf png jpg jpeg gif
		svg ico js mjs css map md rst zip gz tgz tar bz2 xz zst rar jar war ear exe bin dll so php asp aspx
		jsp cgi pl py rb go rs java c h cpp sh bat ps1 log conf cfg ini toml env lock sig asc pem crt cer
		key der p12 pfx pub wasm woff woff2 ttf otf eot mp3 mp4 m4a wav ogg webm webp avif heic mov avi
		doc docx xls xlsx ppt pptx odt rtf rss atom ics vcf db sqlite bak tmp old orig diff patch proto
		graphql gql wsdl raml har pkg deb rpm dmg iso img apk ipa msi tif tiff bmp psd`) {
		fileExt[e] = true
	}
}

// tagWords are the moving tags that sit beside semver values
// (/images/web/tags/latest); they join a semver parameter only on its
// evidence, never on their own.
var tagWords = map[string]bool{"latest": true, "stable": true, "edge": true, "nightly": true,
	"canary": true, "next": true, "beta": true, "alpha": true, "lts": true, "current": true}

// identClass says whether a text segment is an identifier by its class
// (rule 6): DNS names with or without the trailing dot, e-mail addresses,
// IP addresses, host:port, semver, slugs with a non-word part or a digit,
// prefixed ids and base64url. It returns classText when it is none of these.
func identClass(seg string) segClass {
	switch {
	case len(seg) < 3 || len(seg) > 320:
		return classText
	case reSemver.MatchString(seg):
		return classSemver
	case strings.IndexByte(seg, '@') > 0:
		if reEmail.MatchString(seg) {
			if _, err := mail.ParseAddress(seg); err == nil {
				return className
			}
		}
		return classText
	case isIP(seg) && strings.ContainsAny(seg, ".:"):
		return className
	case strings.IndexByte(seg, ':') > 0:
		host, port, ok := strings.Cut(seg, ":")
		if ok && isDigits(port) && len(port) <= 5 && (host == "localhost" || isHostName(host) || isIP(host)) {
			return className
		}
		return classText
	case isHostName(seg):
		return className
	case rePrefix.MatchString(seg):
		tail := seg[strings.LastIndexByte(seg, '_')+1:]
		if (strings.ContainsAny(tail, "0123456789") || strings.ToLower(tail) != tail) && !wordy(tail) {
			return classPrefixed
		}
	case reSlug.MatchString(seg) && strings.Count(seg, "-") <= 12:
		if strings.ContainsAny(seg, "0123456789") || !isDictionaryWord(seg) {
			return className
		}
	case len(seg) >= 16 && reB64URL.MatchString(seg):
		var up, lo, dig bool
		for _, r := range seg {
			up = up || (r >= 'A' && r <= 'Z')
			lo = lo || (r >= 'a' && r <= 'z')
			dig = dig || (r >= '0' && r <= '9')
		}
		if up && lo && dig && !wordy(seg) {
			return classPrefixed
		}
	}
	return classText
}

// wordy reports names made of dictionary words around digits and single
// letters (getUserProfileV2, settings2): routes, not random ids.
func wordy(seg string) bool {
	parts := splitWords(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '-'
		}
		return r
	}, seg))
	dict := dictionary()
	n := 0
	for _, p := range parts {
		if len(p) <= 1 {
			continue
		}
		if !dict[p] && !dict[strings.TrimSuffix(p, "s")] {
			return false
		}
		n++
	}
	return n > 0
}

// isHostName reports DNS names of two labels or more, with or without the
// trailing dot, whose last label is a letters-only top-level domain and not
// a file extension (report.pdf, openapi.json are files).
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) > 253 || strings.Count(s, ".") < 1 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !reLabel.MatchString(l) {
			return false
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 || len(tld) > 24 || fileExt[strings.ToLower(tld)] {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}
