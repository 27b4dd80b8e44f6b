package directory

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

// Entra's password policy for cloud users: 8 to 256 characters, ASCII only,
// and at least three of lower-case, upper-case, digits and symbols.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// ValidatePassword checks password against Entra's cloud password policy.
func ValidatePassword(password string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return fmt.Errorf("must be at least %d characters (has %d)", MinPasswordLength, n)
	}
	if n > MaxPasswordLength {
		return fmt.Errorf("must be at most %d characters (has %d)", MaxPasswordLength, n)
	}
	var lower, upper, digit, symbol bool
	for _, c := range password {
		switch {
		case c > '~' || c < ' ':
			return errors.New("may contain only printable ASCII characters and spaces")
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			symbol = true
		}
	}
	classes := 0
	for _, ok := range []bool{lower, upper, digit, symbol} {
		if ok {
			classes++
		}
	}
	if classes < 3 {
		return errors.New("must contain three of: lower-case letters, upper-case letters, digits, symbols")
	}
	return nil
}

// SetPassword checks password against the policy, hashes it with argon2id and
// records the change time, like a password reset in Entra.
func SetPassword(u *store.User, password string, now time.Time) error {
	if u.UserType == store.UserTypeGuest {
		return errors.New("a guest signs in at its home tenant and has no password here")
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := secrets.HashPassword(password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	u.LastPasswordChangeDateTime = now.UTC()
	return nil
}

// SplitUPN splits a user principal name at its last "@".
func SplitUPN(upn string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(upn, '@')
	if i <= 0 || i == len(upn)-1 {
		return "", "", false
	}
	return upn[:i], upn[i+1:], true
}

// GuestUPN makes the UPN Entra gives a B2B guest invited into a tenant: the
// home UPN with "@" replaced by "_", then "#EXT#@" and the inviting tenant's
// initial domain (abeli_contoso.onmicrosoft.com#EXT#@fabrikam.onmicrosoft.com).
func GuestUPN(homeUPN, tenantDomain string) string {
	return strings.Replace(strings.ToLower(homeUPN), "@", "_", 1) + "#EXT#@" + strings.ToLower(tenantDomain)
}

// validUPNLocal reports whether local is a member UPN's user name as Entra
// allows it: letters, digits and ' . - _ ! # ^ ~, no leading or trailing dot,
// no two dots in a row, at most 64 characters.
func validUPNLocal(local string) bool {
	if len(local) == 0 || len(local) > 64 || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, c := range local {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("'.-_!#^~", c)) {
			return false
		}
	}
	return true
}

// looksLikeMail is a loose check for a mail address: local@domain.tld.
func looksLikeMail(s string) bool {
	local, domain, ok := SplitUPN(s)
	return ok && !strings.ContainsAny(local, " \t\"<>") && IsDomainName(domain)
}

// ValidateUser checks a user of tenant t: GUID id; a UPN local@domain whose
// domain is one of the tenant's (guests too: their UPN lives in the inviting
// tenant); Member or Guest, with home tenant and user set only for guests.
func ValidateUser(u store.User, t store.Tenant) error {
	var es Errors
	if !ids.IsGUID(u.ID) {
		es.add("id", "%q is not a GUID", u.ID)
	}
	if u.TenantID != t.ID {
		es.add("tenantId", "%q is not the tenant %q", u.TenantID, t.ID)
	}
	local, domain, ok := SplitUPN(u.UserPrincipalName)
	guest := u.UserType == store.UserTypeGuest
	switch {
	case u.UserPrincipalName == "":
		es.add("userPrincipalName", "is required")
	case !ok || strings.ContainsAny(u.UserPrincipalName, " \t"):
		es.add("userPrincipalName", "%q is not of the form user@domain", u.UserPrincipalName)
	case !HasDomain(t, domain):
		es.add("userPrincipalName", "%q: domain %q is not a domain of tenant %q (%s)", u.UserPrincipalName, domain, t.DisplayName, strings.Join(t.Domains, ", "))
	case guest && !strings.Contains(local, "#EXT#"):
		es.add("userPrincipalName", "%q: a guest's UPN has the form name_homedomain#EXT#@%s", u.UserPrincipalName, domain)
	case !guest && !validUPNLocal(local):
		es.add("userPrincipalName", "%q: the user name may use letters, digits and ' . - _ ! # ^ ~ (at most 64, no leading, trailing or double dots)", u.UserPrincipalName)
	}
	if len(u.DisplayName) > 256 {
		es.add("displayName", "is longer than 256 characters")
	}
	if u.Mail != "" && !looksLikeMail(u.Mail) {
		es.add("mail", "%q is not a mail address", u.Mail)
	}
	for name := range u.ExtensionAttributes {
		if !IsExtensionAttribute(name) {
			es.add("extensionAttributes", "%q is not an extension attribute name (extension_<name>)", name)
		}
	}
	switch u.UserType {
	case store.UserTypeMember:
		if u.HomeTenantID != "" || u.HomeUserID != "" {
			es.add("userType", "a Member has no home tenant; use Guest")
		}
	case store.UserTypeGuest:
		if !ids.IsGUID(u.HomeTenantID) || !ids.IsGUID(u.HomeUserID) {
			es.add("homeUser", "a Guest needs its home tenant and home user")
		} else if u.HomeTenantID == u.TenantID {
			es.add("homeUser", "a Guest's home user must be in another tenant")
		}
		if u.PasswordHash != "" {
			es.add("password", "a Guest signs in at its home tenant and has no password here")
		}
	default:
		es.add("userType", "%q is not a user type (use %q or %q)", u.UserType, store.UserTypeMember, store.UserTypeGuest)
	}
	return es.err()
}

// ValidateGroup checks a group: GUID id, a display name, and members that are
// users or groups named by GUID, each once, not the group itself.
func ValidateGroup(g store.Group) error {
	var es Errors
	if !ids.IsGUID(g.ID) {
		es.add("id", "%q is not a GUID", g.ID)
	}
	if strings.TrimSpace(g.DisplayName) == "" {
		es.add("displayName", "is required")
	} else if len(g.DisplayName) > 256 {
		es.add("displayName", "is longer than 256 characters")
	}
	seen := map[string]bool{}
	for i, m := range g.Members {
		p := index("members", i)
		switch {
		case m.Type != store.MemberTypeUser && m.Type != store.MemberTypeGroup:
			es.add(p, "member type %q is not %q or %q", m.Type, store.MemberTypeUser, store.MemberTypeGroup)
		case !ids.IsGUID(m.ID):
			es.add(p, "member id %q is not a GUID", m.ID)
		case m.ID == g.ID:
			es.add(p, "a group cannot be a member of itself")
		case seen[m.ID]:
			es.add(p, "is listed twice")
		}
		seen[m.ID] = true
	}
	return es.err()
}
