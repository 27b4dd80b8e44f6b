package token

import (
	"context"
	"net/http"
	"strings"
)

// The token endpoint is the one Entra endpoint browser apps call with
// fetch: a single-page app redeems its code and refresh tokens from its own
// origin. So it answers cross-origin requests — and their CORS preflights,
// which carry no client_id to look at — for the origins of the directory's
// spa redirect URIs, and for no other: a page elsewhere gets no
// Access-Control-Allow-Origin, and its browser keeps the answer from it.
// Which origin may redeem what is decided per grant (checkOrigin).

// corsHeaders are the request headers MSAL.js sends with its token POST.
const corsHeaders = "Content-Type, client-request-id, x-client-sku, x-client-ver, x-client-os, x-client-cpu, x-client-current-telemetry, x-client-last-telemetry, x-app-name, x-app-ver, return-client-request-id, x-ms-lib-capability"

// allowOrigin adds the CORS headers for a request from a SPA origin. It
// reports false when the request has an Origin no SPA registered.
func (h *Handler) allowOrigin(w http.ResponseWriter, r *http.Request) (bool, error) {
	o := r.Header.Get("Origin")
	if o == "" {
		return true, nil
	}
	w.Header().Add("Vary", "Origin")
	ok, err := h.spaOrigin(r.Context(), o)
	if err != nil || !ok {
		return false, err
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	return true, nil
}

// preflight answers the CORS preflight MSAL.js sends before its token POST
// (its client-request-id header makes the POST non-simple).
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	ok, err := h.allowOrigin(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok || r.Header.Get("Origin") == "" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", corsHeaders)
	hd.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// spaOrigin reports whether origin is the origin of a spa redirect URI of
// any application. The set is read once per directory version (dirCache):
// preflights come before every SPA token request.
func (h *Handler) spaOrigin(ctx context.Context, origin string) (bool, error) {
	set, err := cached(ctx, h.cache, "spa-origins", func() (map[string]bool, error) {
		tenants, err := h.opts.Store.ListTenants(ctx)
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, t := range tenants {
			apps, err := h.opts.Store.ListApplications(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			for _, a := range apps {
				for _, u := range a.SPA.RedirectURIs {
					if o := originOf(u); o != "" {
						set[o] = true
					}
				}
			}
		}
		return set, nil
	})
	return set[strings.ToLower(origin)], err
}
