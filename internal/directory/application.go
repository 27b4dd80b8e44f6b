package directory

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Values of groupMembershipClaims. Entra's manifest also accepts a
// comma-separated combination, such as "SecurityGroup, DirectoryRole".
const (
	GroupClaimsNone             = "None"
	GroupClaimsSecurityGroup    = "SecurityGroup"
	GroupClaimsDirectoryRole    = "DirectoryRole"
	GroupClaimsApplicationGroup = "ApplicationGroup"
	GroupClaimsAll              = "All"
)

// Types of key and permission values Graph uses.
const (
	KeyTypeX509Cert          = "AsymmetricX509Cert"
	KeyUsageVerify           = "Verify"
	ScopeTypeUser            = "User"
	ScopeTypeAdmin           = "Admin"
	AllowedMemberUser        = "User" // in appRoles[].allowedMemberTypes
	AllowedMemberApplication = "Application"
	AccessTypeScope          = "Scope" // in requiredResourceAccess[].resourceAccess[].type
	AccessTypeRole           = "Role"
	DefaultAccessRole        = "00000000-0000-0000-0000-000000000000" // "Default Access" app role id
)

// ParseGroupMembershipClaims returns the set of group claim kinds s asks for:
// "" and "None" give an empty set; "All" stands alone.
func ParseGroupMembershipClaims(s string) (map[string]bool, error) {
	set := map[string]bool{}
	if strings.TrimSpace(s) == "" {
		return set, nil
	}
	parts := strings.Split(s, ",")
	for _, p := range parts {
		p = strings.TrimSpace(p)
		switch p {
		case GroupClaimsNone, GroupClaimsAll:
			if len(parts) > 1 {
				return nil, fmt.Errorf("%q: %s cannot be combined with other values", s, p)
			}
			if p == GroupClaimsAll {
				set[p] = true
			}
		case GroupClaimsSecurityGroup, GroupClaimsDirectoryRole, GroupClaimsApplicationGroup:
			set[p] = true
		default:
			return nil, fmt.Errorf("%q is not one of None, SecurityGroup, DirectoryRole, ApplicationGroup, All", s)
		}
	}
	return set, nil
}

// validPermissionValue reports whether v can be a scope or app role value:
// printable ASCII without spaces, quotes or backslashes, not starting with a dot.
func validPermissionValue(v string) bool {
	if v == "" || v[0] == '.' {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidateApplication checks an app registration owned by tenant t against
// Entra's rules: GUID ids, a known signInAudience, redirect URIs per platform,
// identifier URIs (http ones on a verified domain of the tenant), unique
// GUID ids and values of scopes and app roles, groupMembershipClaims,
// requestedAccessTokenVersion (2 when personal accounts sign in), required
// resource access, and well-formed credentials.
func ValidateApplication(a store.Application, t store.Tenant) error {
	var es Errors
	if !ids.IsGUID(a.ID) {
		es.add("id", "%q is not a GUID", a.ID)
	}
	if !ids.IsGUID(a.AppID) {
		es.add("appId", "%q is not a GUID", a.AppID)
	}
	if a.TenantID != t.ID {
		es.add("tenantId", "%q is not the tenant %q", a.TenantID, t.ID)
	}
	if strings.TrimSpace(a.DisplayName) == "" {
		es.add("displayName", "is required")
	} else if len(a.DisplayName) > 256 {
		es.add("displayName", "is longer than 256 characters")
	}
	switch a.SignInAudience {
	case store.AudienceMyOrg, store.AudienceMultipleOrgs, store.AudienceMultipleOrgsAndPersonal, store.AudiencePersonalMicrosoftAccount:
	default:
		es.add("signInAudience", "%q is not one of %s, %s, %s, %s", a.SignInAudience,
			store.AudienceMyOrg, store.AudienceMultipleOrgs, store.AudienceMultipleOrgsAndPersonal, store.AudiencePersonalMicrosoftAccount)
	}
	validateRedirectURIs(a, &es)
	if a.Web.LogoutURL != "" {
		if err := ValidateRedirectURI(PlatformWeb, a.Web.LogoutURL, a.SignInAudience); err != nil {
			es.add("web.logoutUrl", "%s", err)
		}
	}
	validateIdentifierURIs(a, t, &es)
	validatePermissions(a, &es)
	if _, err := ParseGroupMembershipClaims(a.GroupMembershipClaims); err != nil {
		es.add("groupMembershipClaims", "%s", err)
	}
	for _, l := range []struct {
		prop   string
		claims []store.OptionalClaim
	}{
		{"optionalClaims.idToken", a.OptionalClaims.IDToken},
		{"optionalClaims.accessToken", a.OptionalClaims.AccessToken},
		{"optionalClaims.saml2Token", a.OptionalClaims.SAML2Token},
	} {
		for i, c := range l.claims {
			if strings.TrimSpace(c.Name) == "" {
				es.add(index(l.prop, i)+".name", "is required")
			}
		}
	}
	validateRequiredResourceAccess(a, &es)
	validateCredentials(a, &es)
	return es.err()
}

func validateIdentifierURIs(a store.Application, t store.Tenant, es *Errors) {
	seen := map[string]bool{}
	for i, uri := range a.IdentifierURIs {
		p := index("identifierUris", i)
		u, err := url.Parse(uri)
		switch {
		case err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == ""):
			es.add(p, "%q is not an absolute URI", uri)
		case strings.ContainsAny(uri, "#*"):
			es.add(p, "%q must not contain a fragment or a wildcard", uri)
		case seen[strings.ToLower(uri)]:
			es.add(p, "%q is listed twice", uri)
		case (u.Scheme == "https" || u.Scheme == "http") && !onVerifiedDomain(u.Hostname(), t):
			es.add(p, "%q: an http(s) identifier URI must use a verified domain of the tenant (%s) or a subdomain of one", uri, strings.Join(t.Domains, ", "))
		}
		seen[strings.ToLower(uri)] = true
	}
}

func onVerifiedDomain(host string, t store.Tenant) bool {
	host = strings.ToLower(host)
	for _, d := range t.Domains {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

func validatePermissions(a store.Application, es *Errors) {
	if v := a.API.RequestedAccessTokenVersion; v != nil && *v != 1 && *v != 2 {
		es.add("api.requestedAccessTokenVersion", "%d is not 1 or 2", *v)
	} else if SignsInPersonalAccounts(a.SignInAudience) && (v == nil || *v != 2) {
		es.add("api.requestedAccessTokenVersion", "must be 2 when signInAudience is %s", a.SignInAudience)
	}
	// Scope and role ids share one space in Entra; values are unique per list.
	idAt := map[string]string{}
	checkID := func(p, id string) {
		if !ids.IsGUID(id) {
			es.add(p+".id", "%q is not a GUID", id)
		} else if at, dup := idAt[strings.ToLower(id)]; dup {
			es.add(p+".id", "%q is already used by %s", id, at)
		} else {
			idAt[strings.ToLower(id)] = p
		}
	}
	values := map[string]string{}
	for i, s := range a.API.OAuth2PermissionScopes {
		p := index("api.oauth2PermissionScopes", i)
		checkID(p, s.ID)
		switch at, dup := values[s.Value]; {
		case !validPermissionValue(s.Value):
			es.add(p+".value", "%q must be printable ASCII without spaces, quotes or backslashes, not starting with a dot", s.Value)
		case dup:
			es.add(p+".value", "%q is already used by %s", s.Value, at)
		default:
			values[s.Value] = p
		}
		if s.Type != ScopeTypeUser && s.Type != ScopeTypeAdmin {
			es.add(p+".type", "%q is not %s or %s", s.Type, ScopeTypeUser, ScopeTypeAdmin)
		}
	}
	values = map[string]string{}
	for i, r := range a.AppRoles {
		p := index("appRoles", i)
		checkID(p, r.ID)
		switch at, dup := values[r.Value]; {
		case !validPermissionValue(r.Value):
			es.add(p+".value", "%q must be printable ASCII without spaces, quotes or backslashes, not starting with a dot", r.Value)
		case dup:
			es.add(p+".value", "%q is already used by %s", r.Value, at)
		default:
			values[r.Value] = p
		}
		if len(r.AllowedMemberTypes) == 0 {
			es.add(p+".allowedMemberTypes", "needs %s, %s or both", AllowedMemberUser, AllowedMemberApplication)
		}
		for j, m := range r.AllowedMemberTypes {
			if m != AllowedMemberUser && m != AllowedMemberApplication {
				es.add(index(p+".allowedMemberTypes", j), "%q is not %s or %s", m, AllowedMemberUser, AllowedMemberApplication)
			}
		}
	}
}

func validateRequiredResourceAccess(a store.Application, es *Errors) {
	seen := map[string]bool{}
	for i, r := range a.RequiredResourceAccess {
		p := index("requiredResourceAccess", i)
		if !ids.IsGUID(r.ResourceAppID) {
			es.add(p+".resourceAppId", "%q is not a GUID", r.ResourceAppID)
		} else if seen[strings.ToLower(r.ResourceAppID)] {
			es.add(p+".resourceAppId", "%q is listed twice; put all its permissions in one entry", r.ResourceAppID)
		}
		seen[strings.ToLower(r.ResourceAppID)] = true
		for j, ra := range r.ResourceAccess {
			q := index(p+".resourceAccess", j)
			if !ids.IsGUID(ra.ID) {
				es.add(q+".id", "%q is not a GUID", ra.ID)
			}
			if ra.Type != AccessTypeScope && ra.Type != AccessTypeRole {
				es.add(q+".type", "%q is not %s or %s", ra.Type, AccessTypeScope, AccessTypeRole)
			}
		}
	}
}

func validateCredentials(a store.Application, es *Errors) {
	keyIDs := map[string]bool{}
	for i, c := range a.PasswordCredentials {
		p := index("passwordCredentials", i)
		if !ids.IsGUID(c.KeyID) || keyIDs[c.KeyID] {
			es.add(p+".keyId", "%q is not a unique GUID", c.KeyID)
		}
		keyIDs[c.KeyID] = true
		if len(c.SecretHash) == 0 {
			es.add(p, "has no secret hash")
		}
		if !c.EndDateTime.After(c.StartDateTime) {
			es.add(p+".endDateTime", "%s is not after startDateTime %s", c.EndDateTime.Format(timeFormat), c.StartDateTime.Format(timeFormat))
		}
	}
	for i, c := range a.KeyCredentials {
		p := index("keyCredentials", i)
		if !ids.IsGUID(c.KeyID) || keyIDs[c.KeyID] {
			es.add(p+".keyId", "%q is not a unique GUID", c.KeyID)
		}
		keyIDs[c.KeyID] = true
		if c.Type != KeyTypeX509Cert || c.Usage != KeyUsageVerify {
			es.add(p, "type must be %s and usage %s", KeyTypeX509Cert, KeyUsageVerify)
		}
		if _, err := x509.ParseCertificate(c.Key); err != nil {
			es.add(p+".key", "is not a DER X.509 certificate: %v", err)
		}
	}
}

// ValidateServicePrincipal checks a service principal in tenant t for app a:
// GUID id, the app's appId and owner, and that a single-tenant app
// (AzureADMyOrg) is instantiated only in its home tenant.
func ValidateServicePrincipal(sp store.ServicePrincipal, a store.Application, t store.Tenant) error {
	var es Errors
	if !ids.IsGUID(sp.ID) {
		es.add("id", "%q is not a GUID", sp.ID)
	}
	if sp.TenantID != t.ID {
		es.add("tenantId", "%q is not the tenant %q", sp.TenantID, t.ID)
	}
	if sp.AppID != a.AppID || sp.AppOwnerOrganizationID != a.TenantID {
		es.add("appId", "does not match application %q of tenant %q", a.AppID, a.TenantID)
	}
	if a.SignInAudience == store.AudienceMyOrg && t.ID != a.TenantID {
		es.add("appId", "application %q is single-tenant (AzureADMyOrg) in tenant %q; it can have a service principal only there", a.AppID, a.TenantID)
	}
	return es.err()
}
