package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The loader walks a yaml.Node tree itself rather than unmarshalling into
// structs: that way every value keeps its line, every mistake is reported
// (not only the first), duplicate keys are caught and no error message
// echoes a value it should not (a password).

// field is one value found in the file, with where it was found.
type field struct {
	val  *yaml.Node // aliases resolved; nil when the key is absent
	key  string     // the key (mappings) or "" (list items)
	path string     // servers[0].endpoints[1].port
	line int
}

// present reports whether a value was given; null counts as absent, as when
// yaml.v3 unmarshals into a pointer.
func (f field) present() bool { return f.val != nil && !isNull(f.val) }

// fields are a mapping's entries by key; a missing key gives an absent field.
type fields map[string]field

func resolve(n *yaml.Node) *yaml.Node {
	// yaml.v3 never makes an alias of an alias; the bound is belt and braces.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

// describe names the kind of a node for "expected X, got Y", never its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch t := n.ShortTag(); t {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		case "!!timestamp":
			return "a timestamp"
		default:
			return "a value tagged " + strconv.Quote(t)
		}
	}
	return "an unexpected node"
}

// join appends a key to a path, quoting a key that is empty or holds
// characters (spaces, newlines) that would make the path hard to read.
func join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.@+:/", r)
	}) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) typeErr(f field, want string) {
	hint := ""
	if want == "a string" && f.val.ShortTag() == "!!bool" {
		hint = " (quote it)"
	}
	p.errorf(f.line, f.path, "expected %s, got %s%s", want, describe(f.val), hint)
}

// maxWork bounds the entries and items the loader visits. Aliases let a
// small file expand enormously (a list of aliases of a server whose
// endpoints are an alias of a long list); a real config is far below this.
const maxWork = 500_000

// spend counts n visited values and reports, once, when over maxWork.
func (p *parser) spend(n int, f field) bool {
	p.work += n
	if p.work <= maxWork {
		return true
	}
	if p.work-n <= maxWork {
		p.errorf(f.line, f.path, "the file expands to more than %d values (through aliases?)", maxWork)
	}
	return false
}

// pairs returns the entries of a mapping in file order, merge keys (<<)
// expanded, and reports duplicate and non-string keys.
func (p *parser) pairs(f field) ([]field, bool) {
	if f.val == nil || f.val.Kind != yaml.MappingNode {
		if f.val != nil {
			p.typeErr(f, "a mapping")
		}
		return nil, false
	}
	if !p.spend(len(f.val.Content)/2, f) {
		return nil, false
	}
	var out, merged []field
	first := map[string]int{}
	for i := 0; i+1 < len(f.val.Content); i += 2 {
		k, v := resolve(f.val.Content[i]), resolve(f.val.Content[i+1])
		if isMerge(k) {
			merged = p.merge(merged, field{val: v, path: f.path, line: k.Line}, map[*yaml.Node]bool{})
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, f.path, "a key must be a string, got %s", describe(k))
			continue
		}
		kf := field{val: v, key: k.Value, path: join(f.path, k.Value), line: k.Line}
		if l, dup := first[k.Value]; dup {
			p.errorf(kf.line, kf.path, "duplicate key (first at line %d)", l)
			continue
		}
		first[k.Value] = k.Line
		out = append(out, kf)
	}
	for _, m := range merged {
		if _, ok := first[m.key]; !ok {
			first[m.key] = m.line
			out = append(out, m)
		}
	}
	return out, true
}

// merge appends the entries a merge key brings in; earlier ones win, as YAML
// specifies. seen stops anchors that contain themselves.
func (p *parser) merge(out []field, f field, seen map[*yaml.Node]bool) []field {
	if seen[f.val] {
		return out
	}
	seen[f.val] = true
	switch f.val.Kind {
	case yaml.SequenceNode:
		for _, item := range f.val.Content {
			item = resolve(item)
			if item.Kind != yaml.MappingNode {
				p.errorf(f.line, f.path, "a merge (<<) takes a mapping or a list of mappings, got a list of %s", describe(item))
				continue
			}
			out = p.merge(out, field{val: item, path: f.path, line: f.line}, seen)
		}
		return out
	case yaml.MappingNode:
		if !p.spend(len(f.val.Content)/2, f) {
			return out
		}
	default:
		p.errorf(f.line, f.path, "a merge (<<) takes a mapping or a list of mappings, got %s", describe(f.val))
		return out
	}
	var nested []field
	for i := 0; i+1 < len(f.val.Content); i += 2 {
		k, v := resolve(f.val.Content[i]), resolve(f.val.Content[i+1])
		switch {
		case isMerge(k):
			nested = p.merge(nested, field{val: v, path: f.path, line: k.Line}, seen)
		case k.Kind == yaml.ScalarNode && !hasKey(out, k.Value):
			out = append(out, field{val: v, key: k.Value, path: join(f.path, k.Value), line: k.Line})
		}
	}
	for _, n := range nested {
		if !hasKey(out, n.key) {
			out = append(out, n)
		}
	}
	return out
}

func hasKey(fs []field, key string) bool {
	return slices.ContainsFunc(fs, func(f field) bool { return f.key == key })
}

// mapping checks that f is a mapping holding only known keys.
func (p *parser) mapping(f field, known ...string) (fields, bool) {
	ps, ok := p.pairs(f)
	if !ok {
		return nil, false
	}
	fs := fields{}
	for _, kv := range ps {
		if !slices.Contains(known, kv.key) {
			p.errorf(kv.line, kv.path, "unknown key%s", suggest(kv.key, known))
			continue
		}
		fs[kv.key] = kv
	}
	return fs, true
}

// list returns the items of a list.
func (p *parser) list(f field) ([]field, bool) {
	if !f.present() {
		return nil, false
	}
	if f.val.Kind != yaml.SequenceNode {
		p.typeErr(f, "a list")
		return nil, false
	}
	if !p.spend(len(f.val.Content), f) {
		return nil, false
	}
	items := make([]field, len(f.val.Content))
	for i, n := range f.val.Content {
		items[i] = field{val: resolve(n), path: fmt.Sprintf("%s[%d]", f.path, i), line: n.Line}
	}
	return items, true
}

// str returns a scalar's text. Numbers and dates are taken as written (a DKIM
// selector may well be 20230601); booleans and null are refused. Neither
// this nor any other getter puts the value in a type error.
func (p *parser) str(f field) (string, bool) {
	if !f.present() {
		return "", false
	}
	if f.val.Kind == yaml.ScalarNode {
		switch f.val.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return f.val.Value, true
		}
	}
	p.typeErr(f, "a string")
	return "", false
}

// nonEmpty is str for values that must not be "".
func (p *parser) nonEmpty(f field) (string, bool) {
	s, ok := p.str(f)
	if ok && s == "" {
		p.errorf(f.line, f.path, "must not be empty")
		return "", false
	}
	return s, ok
}

func (p *parser) integer(f field) (int, bool) {
	if !f.present() {
		return 0, false
	}
	if f.val.Kind != yaml.ScalarNode || f.val.ShortTag() != "!!int" {
		p.typeErr(f, "an integer")
		return 0, false
	}
	var i int
	if err := f.val.Decode(&i); err != nil {
		p.errorf(f.line, f.path, "%q is too large", f.val.Value)
		return 0, false
	}
	return i, true
}

func (p *parser) port(f field) (int, bool) {
	i, ok := p.integer(f)
	if ok && (i < 1 || i > 65535) {
		p.errorf(f.line, f.path, "%d is out of range 1-65535", i)
		return 0, false
	}
	return i, ok
}

func (p *parser) boolean(f field) (bool, bool) {
	if !f.present() {
		return false, false
	}
	var b bool
	if f.val.Kind != yaml.ScalarNode || f.val.ShortTag() != "!!bool" || f.val.Decode(&b) != nil {
		p.typeErr(f, "a boolean (true or false)")
		return false, false
	}
	return b, true
}

// dur is a duration and where it came from, so that "timeout must be less
// than interval" can blame the setting that broke it.
type dur struct {
	d     time.Duration
	bad   bool   // given, but not a valid duration (already reported)
	level int    // 0 default, 1 global, 2 server, 3 endpoint, domain or roundtrip
	path  string // the key path, or a description of the default
	line  int
}

// duration parses f if present, else returns def.
func (p *parser) duration(f field, level int, def dur) dur {
	if !f.present() {
		return def
	}
	d := dur{bad: true, level: level, path: f.path, line: f.line}
	if f.val.Kind != yaml.ScalarNode {
		p.typeErr(f, "a duration")
		return d
	}
	switch f.val.ShortTag() {
	case "!!str":
	case "!!int", "!!float":
		p.errorf(f.line, f.path, "%s has no unit (write e.g. %ss)", show(f.val.Value), show(f.val.Value))
		return d
	default:
		p.typeErr(f, "a duration")
		return d
	}
	text := strings.TrimSpace(f.val.Value)
	v, err := time.ParseDuration(text)
	switch {
	case err != nil:
		p.errorf(f.line, f.path, "invalid duration %q (use Go syntax: 30s, 5m, 1h)", f.val.Value)
	case v <= 0:
		p.errorf(f.line, f.path, "%s must be greater than 0", text)
	default:
		d.d, d.bad = v, false
	}
	return d
}

// checkTiming reports a timeout that is not less than its interval, on the
// more specific of the two settings.
func (p *parser) checkTiming(timeout, interval dur) {
	if timeout.bad || interval.bad || timeout.d < interval.d {
		return
	}
	if interval.level > timeout.level {
		p.errorf(interval.line, interval.path, "%s must be greater than the timeout %s (%s)",
			fmtDur(interval.d), fmtDur(timeout.d), timeout.path)
		return
	}
	p.errorf(timeout.line, timeout.path, "%s must be less than the interval %s (%s)",
		fmtDur(timeout.d), fmtDur(interval.d), interval.path)
}
