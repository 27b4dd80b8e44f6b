package dirfile

// Fuzz targets: go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 15s ./internal/dirfile
// and FuzzApply (slower: a fresh store per input). Interesting inputs found
// are kept under testdata/fuzz/<Target>/ and run as tests by `go test`.

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/store/storetest"
)

// fuzzSeeds are directory files to start from: the issue's example, small
// valid ones and some YAML corners (anchors, merge keys, several documents).
func fuzzSeeds(f *testing.F) []string {
	issue, err := os.ReadFile("testdata/issue.yaml")
	if err != nil {
		f.Fatal(err)
	}
	return []string{
		string(issue),
		"tenants:\n  - {displayName: A, domains: [a.example]}\n",
		"tenants:\n  - displayName: A\n    domains: [a.example]\n    applications:\n      - {appId: 6e74172b-be56-4843-9ff4-e66a39bb12e3, displayName: W, web: {redirectUris: [\"https://w.example/cb\"]}, spa: {redirectUris: [\"https://w.example/cb\"]}}\n",
		"tenants:\n  - &t {displayName: A, domains: [a.example]}\n  - {<<: *t, domains: [b.example]}\n",
		"tenants:\n  - displayName: \"A\\0B\"\n    domains: [a.example]\n",
		"tenants:\n  - displayName: A\n    domains: [a.example]\n    users:\n      - {userPrincipalName: u@a.example, displayName: U, accountEnabled: yes}\n",
		"tenants: []\n---\ntenants: []\n",
		"tenants:\n  - displayName: A\n\tdomains: [a.example]\n",
		"tenants: [{id: 8eaef023-2b34-4da1-9baa-8bc8c9d6a490, displayName: A, domains: [A.EXAMPLE, a.example]}]\n",
		"",
	}
}

// FuzzParse checks that parsing never panics, that a refusal is Errors
// placed in the file, and that a document it accepts has at least one tenant
// and only text the store can hold.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		doc, err := Parse("dir/directory.yaml", []byte(data))
		if err != nil {
			checkErrors(t, err, data)
			return
		}
		if len(doc.Tenants) == 0 {
			t.Fatal("accepted a file without tenants")
		}
		walkStrings(reflect.ValueOf(doc).Elem(), "", func(path, s string) {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("%s: accepted %q, which PostgreSQL cannot store", path, s)
			}
		})
	})
}

// FuzzApply checks that what Parse and a dry-run Apply accept is written
// for real without an error of the store's (validation must catch
// everything first), and that applying it again changes nothing.
func FuzzApply(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		doc, err := Parse("directory.yaml", []byte(data))
		if err != nil {
			return // FuzzParse's business
		}
		st := storetest.NewSQLite(t)
		ctx := context.Background()
		opts := ApplyOptions{SecretHasher: hasher, Now: func() time.Time { return fixedT0 }, DryRun: true}
		if _, err := Apply(ctx, st, doc, opts); err != nil {
			checkErrors(t, err, data)
			return
		}
		opts.DryRun = false
		if _, err := Apply(ctx, st, doc, opts); err != nil {
			t.Fatalf("the dry run passed, applying failed: %v", err)
		}
		before := dump(t, st)
		sum, err := Apply(ctx, st, doc, opts)
		if err != nil || sum.Created != 0 || sum.Updated != 0 {
			t.Fatalf("applying the same file again: %v, %+v", err, sum)
		}
		if after := dump(t, st); after != before {
			t.Fatalf("applying the same file again changed the directory:\n%s\n%s", before, after)
		}
	})
}

// checkErrors fails unless err is Errors, each placed in the file (a line
// within it, or none) with a message.
func checkErrors(t *testing.T, err error, data string) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("not dirfile.Errors: %T %v", err, err)
	}
	lines := lineCount([]byte(data))
	for _, e := range es {
		// "%!" is a formatting mistake of ours, unless the file itself
		// holds it and the message quotes it.
		badFormat := strings.Contains(e.Message, "%!") && !strings.Contains(data, "%!")
		if e.Line < 0 || e.Line > lines || e.Message == "" || badFormat {
			t.Fatalf("error %q: line %d of %d", e.Error(), e.Line, lines)
		}
	}
}

// walkStrings calls fn with every string in v (exported or not), by path.
func walkStrings(v reflect.Value, path string, fn func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, fn)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name, fn)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), path+"[]", fn)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walkStrings(it.Key(), path+"{}", fn)
			walkStrings(it.Value(), path+"{}", fn)
		}
	}
}
