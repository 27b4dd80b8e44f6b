package dirfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

// Planning applications and their credentials.

func (p *planner) planApps() error {
	for _, tp := range p.tenants {
		for j := range tp.src.Applications {
			if err := p.planApp(tp, &tp.src.Applications[j], indexPath(joinPath(tp.path, "applications"), j)); err != nil {
				return err
			}
		}
	}
	// Permissions an app requests from a known app must exist there.
	for _, tp := range p.tenants {
		for j := range tp.src.Applications {
			path := indexPath(joinPath(tp.path, "applications"), j)
			if p.has(joinPath(path, "requiredResourceAccess")) {
				if err := p.checkRequiredResourceAccess(&tp.src.Applications[j], path); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (p *planner) planApp(tp *tenantPlan, src *Application, path string) error {
	appID := lower(src.AppID)
	switch {
	case appID == "":
		p.errorf(joinPath(path, "appId"), "is required: the file and clients refer to an application by its appId (for example %s)", ids.NewGUID())
		return nil
	case !ids.IsGUID(appID):
		p.errorf(joinPath(path, "appId"), "%q is not a GUID", src.AppID)
		return nil
	}
	if prev := p.apps[appID]; prev != nil && prev.path != "" {
		p.errorf(joinPath(path, "appId"), "%s is already declared at %s", appID, prev.path)
		return nil
	}
	old, exists, err := found(p.tx.GetApplicationByAppID(p.ctx, appID))
	if err != nil {
		return err
	}
	if exists && old.TenantID != tp.t.ID {
		p.errorf(joinPath(path, "appId"), "%s is already registered in another tenant (%s); an appId is unique across tenants", appID, old.TenantID)
		return nil
	}
	if exists && src.ID != "" && lower(src.ID) != old.ID {
		p.errorf(joinPath(path, "id"), "application %s has object id %s; an object id cannot change", appID, old.ID)
	}
	a := old
	if !exists {
		a = directory.NewApplication(tp.t.ID, "", p.now)
		a.AppID = appID
		if src.ID != "" {
			a.ID = lower(src.ID)
		}
	}
	a = cloneApp(a)
	p.patchApp(&a, src, path)
	if err := p.addCredentials(&a, src, path); err != nil {
		return err
	}
	directory.NormalizeApplication(&a)
	p.validate(path, directory.ValidateApplication(a, tp.t))
	if err := p.checkIdentifierURIs(a, path); err != nil {
		return err
	}
	p.apps[appID] = &appRef{a: a, path: path, tenant: tp}
	p.add(phApps, Change{Kind: "application", TenantID: tp.t.ID, Name: appID}, exists, old, a,
		func(ctx context.Context, tx store.Directory) error { return tx.CreateApplication(ctx, a) },
		func(ctx context.Context, tx store.Directory) error {
			_, err := tx.UpdateApplication(ctx, appID, func(store.Application) (store.Application, error) { return a, nil })
			return err
		})
	return nil
}

// cloneApp copies the credential lists, which planning appends to, so the
// stored value it is compared with stays as it was.
func cloneApp(a store.Application) store.Application {
	a.PasswordCredentials = append([]store.PasswordCredential(nil), a.PasswordCredentials...)
	a.KeyCredentials = append([]store.KeyCredential(nil), a.KeyCredentials...)
	return a
}

// patchApp copies the properties the file gives; a nested object (web, api,
// ...) given in the file replaces the stored one whole.
func (p *planner) patchApp(a *store.Application, src *Application, path string) {
	has := func(name string) bool { return p.has(joinPath(path, name)) }
	if has("displayName") {
		a.DisplayName = src.DisplayName
	}
	if has("signInAudience") {
		a.SignInAudience = src.SignInAudience
	}
	if has("web") {
		a.Web = src.Web
	}
	if has("spa") {
		a.SPA = src.SPA
	}
	if has("publicClient") {
		a.PublicClient = src.PublicClient
	}
	if has("isFallbackPublicClient") {
		a.IsFallbackPublicClient = src.IsFallbackPublicClient
	}
	if has("identifierUris") {
		a.IdentifierURIs = src.IdentifierURIs
	}
	if has("api") {
		a.API = src.API
		a.API.OAuth2PermissionScopes = append([]store.PermissionScope(nil), src.API.OAuth2PermissionScopes...)
		for k := range a.API.OAuth2PermissionScopes {
			s := &a.API.OAuth2PermissionScopes[k]
			s.ID = lower(s.ID)
			if !p.has(indexPath(joinPath(path, "api.oauth2PermissionScopes"), k) + ".isEnabled") {
				s.IsEnabled = true // Graph's default for a new scope
			}
		}
	}
	if has("appRoles") {
		a.AppRoles = append([]store.AppRole(nil), src.AppRoles...)
		for k := range a.AppRoles {
			r := &a.AppRoles[k]
			r.ID = lower(r.ID)
			if !p.has(indexPath(joinPath(path, "appRoles"), k) + ".isEnabled") {
				r.IsEnabled = true
			}
		}
	}
	if has("groupMembershipClaims") {
		a.GroupMembershipClaims = src.GroupMembershipClaims
	}
	if has("optionalClaims") {
		a.OptionalClaims = src.OptionalClaims
	}
	if has("requiredResourceAccess") {
		a.RequiredResourceAccess = make([]store.RequiredResourceAccess, len(src.RequiredResourceAccess))
		for k, r := range src.RequiredResourceAccess {
			r.ResourceAppID = lower(r.ResourceAppID)
			r.ResourceAccess = append([]store.ResourceAccess(nil), r.ResourceAccess...)
			for m := range r.ResourceAccess {
				r.ResourceAccess[m].ID = lower(r.ResourceAccess[m].ID)
			}
			a.RequiredResourceAccess[k] = r
		}
	}
	if has("useOwnSigningKey") {
		a.UseOwnSigningKey = src.UseOwnSigningKey
	}
}

// addCredentials adds the file's secrets and certificates that the app does
// not have yet. One it already has (same secret hash, same thumbprint) keeps
// its keyId and dates; the file may change its displayName or endDateTime.
func (p *planner) addCredentials(a *store.Application, src *Application, path string) error {
	matched := map[string]string{} // keyId → path of the file entry that matched it
	match := func(keyID, cp string) bool {
		if at, dup := matched[keyID]; dup {
			p.errorf(cp, "the same credential is already given at %s", at)
			return false
		}
		matched[keyID] = cp
		return true
	}
	for k, c := range src.PasswordCredentials {
		cp := indexPath(joinPath(path, "passwordCredentials"), k)
		switch {
		case c.SecretText == "":
			p.errorf(joinPath(cp, "secretText"), "is required: the file holds only secrets it gives (generate others with `entrance app secret add`)")
			continue
		case len(c.SecretText) < secrets.MinClientSecretLength:
			p.errorf(joinPath(cp, "secretText"), "is %d characters long; at least %d are required", len(c.SecretText), secrets.MinClientSecretLength)
			continue
		case p.opts.SecretHasher == nil:
			return errNoHasher
		}
		h := p.opts.SecretHasher
		idx := -1
		for i, have := range a.PasswordCredentials {
			if h.Verify(have.SecretHash, c.SecretText) {
				idx = i
			}
		}
		if idx < 0 {
			cred, err := directory.AddClientSecret(a, c.SecretText, c.DisplayName, c.EndDateTime, h, p.now)
			if err != nil {
				p.errorf(cp, "%v", err)
			} else {
				matched[cred.KeyID] = cp
			}
			continue
		}
		cur := &a.PasswordCredentials[idx]
		if !match(cur.KeyID, cp) {
			continue
		}
		if p.has(joinPath(cp, "displayName")) {
			cur.DisplayName = c.DisplayName
		}
		if p.has(joinPath(cp, "endDateTime")) {
			cur.EndDateTime = c.EndDateTime
		}
	}
	for k, c := range src.KeyCredentials {
		cp := indexPath(joinPath(path, "keyCredentials"), k)
		data, prop := []byte(c.Certificate), joinPath(cp, "certificate")
		switch {
		case c.Certificate != "" && c.CertificateFile != "":
			p.errorf(cp, "give certificate or certificateFile, not both")
			continue
		case c.CertificateFile != "":
			prop = joinPath(cp, "certificateFile")
			f := c.CertificateFile
			if !filepath.IsAbs(f) {
				f = filepath.Join(p.doc.dir, f)
			}
			var err error
			if data, err = os.ReadFile(f); err != nil {
				p.errorf(prop, "%v", err)
				continue
			}
		case c.Certificate == "":
			p.errorf(cp, "certificate (PEM) or certificateFile is required")
			continue
		}
		cert, err := directory.ParseCertificate(data)
		if err != nil {
			p.errorf(prop, "%v", err)
			continue
		}
		thumb := directory.Thumbprint(cert.Raw)
		idx := -1
		for i, have := range a.KeyCredentials {
			if string(have.CustomKeyIdentifier) == string(thumb) {
				idx = i
			}
		}
		if idx < 0 {
			cred, err := directory.AddCertificate(a, data, c.DisplayName)
			if err != nil {
				p.errorf(prop, "%v", err)
			} else {
				matched[cred.KeyID] = cp
			}
			continue
		}
		if match(a.KeyCredentials[idx].KeyID, cp) && p.has(joinPath(cp, "displayName")) {
			a.KeyCredentials[idx].DisplayName = c.DisplayName
		}
	}
	return nil
}

// checkIdentifierURIs keeps identifier URIs unique across all applications,
// in every tenant, as the store does: a resource is looked up by its App ID
// URI alone, so two apps must never share one.
func (p *planner) checkIdentifierURIs(a store.Application, path string) error {
	for k, u := range a.IdentifierURIs {
		key := strings.ToLower(u)
		owner, taken := p.idURIs[key]
		if !taken {
			stored, ok, err := found(p.tx.GetApplicationByIdentifierURI(p.ctx, u))
			if err != nil {
				return err
			}
			owner, taken = uriOwner{appID: stored.AppID}, ok
		}
		if taken && !strings.EqualFold(owner.appID, a.AppID) {
			where := "stored"
			if owner.path != "" {
				where = "declared at " + owner.path
			}
			p.errorf(indexPath(joinPath(path, "identifierUris"), k), "%q is already used by application %s (%s)", u, owner.appID, where)
			continue
		}
		p.idURIs[key] = uriOwner{appID: a.AppID, path: path}
	}
	return nil
}

// app finds an application by appId, declared in the file or stored.
func (p *planner) app(appID string) (*appRef, bool, error) {
	appID = lower(appID)
	if r, ok := p.apps[appID]; ok {
		return r, r != nil, nil
	}
	// The built-in Graph resource is in every tenant without being stored, so
	// a file can grant its scopes (User.Read) like any other API's.
	a, ok, err := found(directory.LookupApplication(p.ctx, p.tx, appID))
	if err != nil {
		return nil, false, err
	}
	var r *appRef
	if ok {
		r = &appRef{a: a}
	}
	p.apps[appID] = r
	return r, ok, nil
}

func (p *planner) checkRequiredResourceAccess(src *Application, path string) error {
	for k, rra := range src.RequiredResourceAccess {
		res, ok, err := p.app(rra.ResourceAppID)
		if err != nil {
			return err
		}
		if !ok {
			continue // an API outside this directory, such as Microsoft Graph
		}
		for m, ra := range rra.ResourceAccess {
			id := lower(ra.ID)
			known := false
			switch ra.Type {
			case directory.AccessTypeScope:
				for _, s := range res.a.API.OAuth2PermissionScopes {
					known = known || s.ID == id
				}
			case directory.AccessTypeRole:
				for _, r := range res.a.AppRoles {
					known = known || r.ID == id
				}
			default:
				continue // reported by the validator
			}
			if !known {
				kind := "a delegated permission (api.oauth2PermissionScopes)"
				if ra.Type == directory.AccessTypeRole {
					kind = "an app role"
				}
				p.errorf(indexPath(indexPath(path+".requiredResourceAccess", k)+".resourceAccess", m)+".id",
					"%s is not %s of application %s (%s)", ra.ID, kind, res.a.AppID, res.a.DisplayName)
			}
		}
	}
	return nil
}
