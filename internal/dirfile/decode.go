package dirfile

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder fills Go values from a yaml.Node tree, strictly: every property must
// be known, appear once and have the right type. It records the line of every
// property it sees, and collects every error instead of stopping at the first.
//
// Field names come from a field's `yaml` tag, else its `json` tag, so the
// file reuses the store's Graph-named types where they fit.
type decoder struct {
	file  string
	lines positions
	errs  Errors
	// open holds the mappings and lists being decoded, from the root down
	// to the current node: an alias or merge key that names one of them
	// would never end ("&t {<<: *t}").
	open map[*yaml.Node]bool
	// expanded counts the values decoded: aliases let a short file stand
	// for an exponential number of them (the "billion laughs").
	expanded int
}

// maxExpandedValues bounds what a directory file may expand to through
// aliases: far more than any real directory file holds.
const maxExpandedValues = 1_000_000

// enter marks n as being decoded; it reports false (and records an error)
// for a node that is already open, or when the file expands too far.
func (d *decoder) enter(n *yaml.Node, path string) bool {
	if d.open[n] {
		d.errorf(n.Line, path, "an alias must not refer to a value that contains it")
		return false
	}
	if d.expanded++; d.expanded > maxExpandedValues {
		if d.expanded == maxExpandedValues+1 { // said once
			d.errorf(n.Line, path, "the file's aliases expand to more than %d values", maxExpandedValues)
		}
		return false
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if d.open == nil {
			d.open = map[*yaml.Node]bool{}
		}
		d.open[n] = true
	}
	return true
}

func (d *decoder) leave(n *yaml.Node) { delete(d.open, n) }

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Property: path, Message: fmt.Sprintf(format, args...)})
}

var timeType = reflect.TypeOf(time.Time{})

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	for n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else {
			n = n.Content[0]
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value leaves the zero value
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		d.decode(n, path, v.Elem())
		return
	}
	if !d.enter(n, path) {
		return
	}
	defer d.leave(n)
	switch {
	case v.Type() == timeType:
		d.decodeTime(n, path, v)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, path, v)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, path, "must be a list (got %s)", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := indexPath(path, i)
			d.lines[p] = item.Line
			d.decode(item, p, s.Index(i))
		}
		v.Set(s)
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!bool" {
			d.errorf(n.Line, path, "must be a string (got %s)", describe(n))
			return
		}
		if strings.ContainsRune(n.Value, 0) {
			// YAML can write it ("\0"); no property can hold it, and
			// PostgreSQL refuses it in text.
			d.errorf(n.Line, path, "must not contain a NUL character")
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || err != nil {
			d.errorf(n.Line, path, "must be true or false (got %s)", describe(n))
			return
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
			d.errorf(n.Line, path, "must be an integer (got %s)", describe(n))
			return
		}
		v.SetInt(int64(i))
	default:
		panic("dirfile: cannot decode into " + v.Type().String())
	}
}

func (d *decoder) decodeTime(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.ScalarNode {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if t, err := time.Parse(layout, n.Value); err == nil {
				v.Set(reflect.ValueOf(t.UTC()))
				return
			}
		}
	}
	d.errorf(n.Line, path, "must be a date-time such as 2030-01-01T00:00:00Z (got %s)", describe(n))
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be a mapping of properties (got %s)", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	for _, kv := range d.pairs(n, path) {
		name := kv.key.Value
		p := joinPath(path, name)
		i, ok := fields[name]
		if !ok {
			d.errorf(kv.key.Line, p, "unknown property%s", suggest(name, fields))
			continue
		}
		d.lines[p] = kv.key.Line
		d.decode(kv.value, p, v.Field(i))
	}
}

type pair struct{ key, value *yaml.Node }

// pairs returns a mapping's key/value pairs with YAML merge keys (<<: *anchor)
// resolved: merged properties count unless the mapping sets them itself. A key
// written twice is an error.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out, merged []pair
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			for val.Kind == yaml.AliasNode {
				val = val.Alias
			}
			srcs := []*yaml.Node{val}
			if val.Kind == yaml.SequenceNode {
				srcs = val.Content
			}
			for _, src := range srcs {
				for src.Kind == yaml.AliasNode {
					src = src.Alias
				}
				if src.Kind != yaml.MappingNode {
					d.errorf(k.Line, path, "<< must merge a mapping")
					continue
				}
				if !d.enter(src, path) {
					continue
				}
				merged = append(merged, d.pairs(src, path)...)
				d.leave(src)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "a property name must be a plain string")
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.errorf(k.Line, joinPath(path, k.Value), "duplicate property (first at line %d)", line)
			continue
		}
		first[k.Value] = k.Line
		out = append(out, pair{k, val})
	}
	for _, m := range merged {
		if _, set := first[m.key.Value]; !set {
			first[m.key.Value] = m.key.Line
			out = append(out, m)
		}
	}
	return out
}

// fieldsOf maps property names to field indexes of struct type t.
func fieldsOf(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" {
			tag = f.Tag.Get("json")
		}
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// describe names what a node holds, for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	kind := map[string]string{"!!bool": "boolean", "!!int": "integer", "!!float": "number", "!!timestamp": "timestamp"}[n.ShortTag()]
	if kind == "" {
		kind = "string"
	}
	return fmt.Sprintf("%s %q", kind, n.Value)
}

// suggest offers the known property closest to an unknown one, when one is
// close: same letters in another case, or at most two edits away.
func suggest(name string, fields map[string]int) string {
	best, bestDist := "", 3
	for f := range fields {
		dist := editDistance(strings.ToLower(name), strings.ToLower(f))
		if dist < bestDist || dist == bestDist && f < best {
			best, bestDist = f, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
