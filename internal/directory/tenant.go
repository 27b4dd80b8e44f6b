package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// The tenant aliases Entra accepts in place of a tenant in a URL path.
const (
	AliasCommon        = "common"
	AliasOrganizations = "organizations"
	AliasConsumers     = "consumers"
)

// ConsumersTenantID is the tenant of personal Microsoft accounts, the one
// "consumers" stands for; it appears as `tid` in tokens for personal accounts.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

var (
	// ErrTenantNotFound: the segment names no tenant in the store. It wraps
	// store.ErrNotFound. (On the wire this is AADSTS90002.)
	ErrTenantNotFound = fmt.Errorf("tenant not found: %w", store.ErrNotFound)
	// ErrTenantAlias: the segment is "common" or "organizations", which stand
	// for any tenant rather than one; callers handle them before resolving.
	ErrTenantAlias = errors.New("tenant alias does not name a single tenant")
)

// IsAlias reports whether seg is one of Entra's tenant aliases (common,
// organizations, consumers), compared case-insensitively like Entra does.
func IsAlias(seg string) bool {
	switch strings.ToLower(seg) {
	case AliasCommon, AliasOrganizations, AliasConsumers:
		return true
	}
	return false
}

// ResolveTenant finds the tenant a URL path segment names: its GUID or one of
// its verified domains, case-insensitively. "consumers" resolves to the tenant
// with ConsumersTenantID when one exists; "common" and "organizations" return
// ErrTenantAlias. An unknown tenant returns an error wrapping ErrTenantNotFound
// (and so store.ErrNotFound); other errors come from the store.
func ResolveTenant(ctx context.Context, st store.Directory, seg string) (store.Tenant, error) {
	s := strings.ToLower(strings.TrimSpace(seg))
	switch {
	case s == AliasCommon || s == AliasOrganizations:
		return store.Tenant{}, fmt.Errorf("%q: %w", seg, ErrTenantAlias)
	case s == AliasConsumers:
		s = ConsumersTenantID
	case s == "":
		return store.Tenant{}, fmt.Errorf("empty tenant: %w", ErrTenantNotFound)
	}
	var t store.Tenant
	var err error
	if ids.IsGUID(s) {
		t, err = st.GetTenant(ctx, s)
	} else if IsDomainName(s) {
		t, err = st.GetTenantByDomain(ctx, s)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Tenant{}, fmt.Errorf("%q: %w", seg, ErrTenantNotFound)
	}
	return t, err
}

// IsDomainName reports whether s is a DNS name a tenant can verify: at least
// two labels of letters, digits and inner hyphens, each 1-63 characters, 253 in
// all, and a top-level label that is not all digits.
func IsDomainName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// HasDomain reports whether domain is one of t's domains (case-insensitive).
func HasDomain(t store.Tenant, domain string) bool {
	for _, d := range t.Domains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// InitialDomain is the domain Entra uses for names it makes up in a tenant,
// such as guest UPNs: the first *.onmicrosoft.com domain, else the first one.
func InitialDomain(t store.Tenant) string {
	for _, d := range t.Domains {
		if strings.HasSuffix(strings.ToLower(d), ".onmicrosoft.com") {
			return d
		}
	}
	if len(t.Domains) > 0 {
		return t.Domains[0]
	}
	return ""
}

// ValidateTenant checks a tenant: GUID id, type aad or b2c, a display name,
// at least one valid, distinct domain, and a B2C tenant's user flows.
func ValidateTenant(t store.Tenant) error {
	var es Errors
	if !ids.IsGUID(t.ID) {
		es.add("id", "%q is not a GUID", t.ID)
	}
	if strings.TrimSpace(t.DisplayName) == "" {
		es.add("displayName", "is required")
	} else if len(t.DisplayName) > 256 {
		es.add("displayName", "is longer than 256 characters")
	}
	if t.Type != store.TenantTypeAAD && t.Type != store.TenantTypeB2C {
		es.add("type", "%q is not a tenant type (use %q or %q)", t.Type, store.TenantTypeAAD, store.TenantTypeB2C)
	}
	if len(t.Domains) == 0 {
		es.add("domains", "at least one domain is required")
	}
	seen := map[string]bool{}
	for i, d := range t.Domains {
		switch {
		case !IsDomainName(d):
			es.add(index("domains", i), "%q is not a valid DNS name", d)
		case seen[strings.ToLower(d)]:
			es.add(index("domains", i), "%q is listed twice", d)
		}
		seen[strings.ToLower(d)] = true
	}
	validateUserFlows(t, &es) // B2C (b2c.go)
	return es.err()
}
