package dirfile

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a directory file: where it is and what is wrong.
type Error struct {
	File string
	// Line is 1-based; 0 when the problem has no place in the file.
	Line int
	// Property is the path of the property, such as
	// tenants[0].applications[1].web.redirectUris[0]; empty for the file itself.
	Property string
	Message  string
}

// Error formats as file:line: property: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Property != "" {
		b.WriteString(e.Property)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in a file, sorted by line. Parse and Apply
// return it (as error) so that one run reports all problems at once.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// err sorts the list by line and returns it, or nil when it is empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// positions maps property paths to the line they start on, so that checks made
// long after parsing can still point at the file.
type positions map[string]int

// line returns the line of path, or of its nearest ancestor that has one (a
// missing property is reported at the object that lacks it).
func (ps positions) line(path string) int {
	for path != "" {
		if l, ok := ps[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// has reports whether the property at path was written in the file. Absent
// properties keep their stored value (or Entra's default for a new object).
func (ps positions) has(path string) bool {
	_, ok := ps[path]
	return ok
}

func joinPath(parent, child string) string {
	if parent == "" {
		return child
	}
	if child == "" {
		return parent
	}
	return parent + "." + child
}

func indexPath(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
