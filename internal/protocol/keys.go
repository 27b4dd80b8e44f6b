package protocol

import (
	"context"
	"net/http"

	"github.com/entranceidp/entrance/internal/keys"
)

// JWKS:
//
//	GET /{tenant}/discovery/v2.0/keys[?appid=]   entries carry the v2 issuer
//	GET /{tenant}/discovery/keys[?appid=]        entries carry the v1 issuer
//
// A tenant (GUID or domain) publishes its own key set. With ?appid= of an
// application that has its own signing key (UseOwnSigningKey), that key set is
// published instead; for any other known app the tenant's set is.
//
// The aliases (common, organizations, consumers) publish every tenant's keys,
// each entry with the issuer of the tenant it belongs to. Entra gives its
// common keys the template issuer {base}/{tenantid}/v2.0 because its keys are
// shared by all tenants; Entrance's keys belong to one tenant each, so the
// concrete issuer is the true statement, and a client following Microsoft's
// "validate the signing key issuer" guidance for multi-tenant apps can check a
// token's iss against the issuer of the key that signed it (template-aware
// validators such as Microsoft.IdentityModel accept a concrete issuer too).

func (h *Handlers) keysV2(w http.ResponseWriter, r *http.Request) {
	h.serveDoc(w, r, kindKeysV2, func(ctx context.Context, t docTarget) ([]byte, error) {
		return h.buildJWKS(ctx, t, h.opts.URLs.IssuerV2)
	})
}

func (h *Handlers) keysV1(w http.ResponseWriter, r *http.Request) {
	h.serveDoc(w, r, kindKeysV1, func(ctx context.Context, t docTarget) ([]byte, error) {
		return h.buildJWKS(ctx, t, h.opts.URLs.IssuerV1)
	})
}

func (h *Handlers) buildJWKS(ctx context.Context, t docTarget, issuer func(tenantID string) string) ([]byte, error) {
	if t.app != nil && t.app.UseOwnSigningKey {
		// The app's key set lives in its home tenant; its tokens are issued
		// by the tenant in the path (the home tenant under an alias).
		iss := issuer(t.app.TenantID)
		if !t.alias {
			iss = issuer(t.tenant.ID)
		}
		published, err := h.opts.Keys.PublishedKeys(ctx, t.app.TenantID, t.app.AppID)
		if err != nil {
			return nil, err
		}
		return keys.JWKSJSON(published, func(keys.PublicKey) string { return iss })
	}
	if !t.alias {
		published, err := h.opts.Keys.PublishedKeys(ctx, t.tenant.ID, "")
		if err != nil {
			return nil, err
		}
		iss := issuer(t.tenant.ID)
		return keys.JWKSJSON(published, func(keys.PublicKey) string { return iss })
	}
	tenants, err := h.opts.Store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	var all []keys.PublicKey
	issuerOf := map[string]string{} // kid → issuer
	for _, tn := range tenants {
		published, err := h.opts.Keys.PublishedKeys(ctx, tn.ID, "")
		if err != nil {
			return nil, err
		}
		for _, k := range published {
			issuerOf[k.KID] = issuer(tn.ID)
		}
		all = append(all, published...)
	}
	return keys.JWKSJSON(all, func(k keys.PublicKey) string { return issuerOf[k.KID] })
}
