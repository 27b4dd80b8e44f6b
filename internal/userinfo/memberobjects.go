package userinfo

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
)

// readAnyUserRoles are the Graph application permissions (app roles held by
// the client's service principal, from client credentials) that let an
// app-only token read any user's memberships in its tenant.
var readAnyUserRoles = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "GroupMember.Read.All"}

// memberObjectsResponse is Graph's answer to getMemberObjects.
type memberObjectsResponse struct {
	ODataContext string   `json:"@odata.context"`
	Value        []string `json:"value"`
}

// getMemberObjects answers Graph's POST /v1.0/users/{id}/getMemberObjects
// and POST /v1.0/me/getMemberObjects, body {"securityEnabledOnly": bool}:
// the ids of every group the user belongs to, directly or through nested
// groups (securityEnabledOnly: security groups only). It is where a token
// with a groups overage (_claim_sources) sends the API. Who may ask:
//   - a delegated token (a user's, for Graph) reads the signed-in user's
//     own memberships, at /me or at /users/{their oid or UPN};
//   - an app-only token reads any user of its tenant when the client holds
//     one of readAnyUserRoles on Graph (User.Read.All is the one Entrance's
//     Graph defines; assign it with appRoleAssignments in the directory).
//
// Graph also lists directory role and administrative unit ids; Entrance
// keeps directory roles as template ids (wids), so it lists groups only.
func (h *Handler) getMemberObjects(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	tok, err := h.bearer(r.Context(), r)
	var ae *authError
	switch {
	case errors.As(err, &ae):
		h.unauthorized(w, r, ae.msg)
		return
	case err != nil:
		h.unavailable(w, r, err)
		return
	}
	var body struct {
		SecurityEnabledOnly *bool `json:"securityEnabledOnly"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		msg := "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
		if errors.Is(err, io.EOF) {
			msg = "Empty Payload. JSON content expected."
		}
		graphError(w, r, http.StatusBadRequest, "BadRequest", msg)
		return
	}
	securityOnly := body.SecurityEnabledOnly != nil && *body.SecurityEnabledOnly

	tid := strings.ToLower(tok.Tid)
	id := r.PathValue("id") // "" for /me
	if id == "" && tok.AppOnly() {
		graphError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return
	}
	u, err := h.lookupUser(r, tid, id, tok.Oid)
	switch {
	case errors.Is(err, store.ErrNotFound):
		graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+firstNonEmpty(id, tok.Oid)+"' does not exist or one of its queried reference-property objects are not present.")
		return
	case err != nil:
		h.unavailable(w, r, err)
		return
	}
	self := !tok.AppOnly() && strings.EqualFold(u.ID, tok.Oid)
	if !self && !(tok.AppOnly() && tok.HasRole(readAnyUserRoles...)) {
		graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	groups, err := scopes.MemberOf(r.Context(), h.opts.Store, tid, u.ID)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	out := memberObjectsResponse{ODataContext: h.opts.PublicURL + "/v1.0/$metadata#Collection(Edm.String)", Value: []string{}}
	for _, g := range groups {
		if !securityOnly || g.SecurityEnabled {
			out.Value = append(out.Value, g.ID)
		}
	}
	writeJSON(w, r, http.StatusOK, out)
}

// lookupUser finds the user a Graph path names in the tenant: an object id
// or a UPN, or for /me (id "") the token's user.
func (h *Handler) lookupUser(r *http.Request, tenantID, id, oid string) (store.User, error) {
	switch {
	case id == "":
		return h.opts.Store.GetUser(r.Context(), tenantID, strings.ToLower(oid))
	case ids.IsGUID(id):
		return h.opts.Store.GetUser(r.Context(), tenantID, strings.ToLower(id))
	}
	return h.opts.Store.GetUserByUPN(r.Context(), tenantID, id)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
