// Package directory holds the rules over Entrance's directory model
// (internal/store): how a tenant is named in a URL, what makes a user, group or
// application valid the way Entra ID sees it, and how credentials are added.
// The directory file (internal/dirfile) and the admin CLI both go through these
// functions, so an object is judged the same way however it arrives.
//
// Validators return nil or an Errors value: one PropertyError per broken rule,
// each naming the property with a Graph-style path relative to the object
// ("web.redirectUris[0]"), so a caller can prefix it with where the object came
// from (a file position, a CLI flag).
package directory

import (
	"fmt"
	"strings"
)

// PropertyError is one broken rule on one property of an object.
type PropertyError struct {
	// Property is a Graph-style path relative to the validated object, such as
	// "web.redirectUris[0]" or "appRoles[1].value"; empty for the whole object.
	Property string
	Message  string
}

func (e *PropertyError) Error() string {
	if e.Property == "" {
		return e.Message
	}
	return e.Property + ": " + e.Message
}

// Errors lists every broken rule found on an object, in the order found.
type Errors []*PropertyError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// add records a broken rule.
func (es *Errors) add(property, format string, args ...any) {
	*es = append(*es, &PropertyError{Property: property, Message: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was recorded, so `return es.err()` yields a true
// nil error rather than a typed nil.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// join makes a property path: join("web", "redirectUris") = "web.redirectUris".
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// index makes an element path: index("appRoles", 2) = "appRoles[2]".
func index(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
