package scopes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

// MemberOf returns the groups userID belongs to in the tenant, directly or
// through nested groups, sorted by id. Membership cycles (A in B in A) are
// followed once. Guests are members through their guest object.
func MemberOf(ctx context.Context, st store.Directory, tenantID, userID string) ([]store.Group, error) {
	all, err := st.ListGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	parents := map[string][]int{} // member id → indexes of the groups holding it
	for i, g := range all {
		for _, m := range g.Members {
			parents[m.ID] = append(parents[m.ID], i)
		}
	}
	in := map[int]bool{}
	queue := []string{userID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, i := range parents[id] {
			if !in[i] {
				in[i] = true
				queue = append(queue, all[i].ID)
			}
		}
	}
	var out []store.Group
	for i, g := range all {
		if in[i] {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// Groups returns the groups and wids claims of userID for app, as the app's
// groupMembershipClaims asks: SecurityGroup gives the security groups,
// ApplicationGroup the groups assigned to the app, All every group;
// DirectoryRole and All give wids, the template ids of the user's directory
// roles (direct or through a group). Membership is transitive. A nil slice
// means the claim is not wanted or empty; both leave it out of the token.
// The caller passes the token owner's app: the client for ID tokens, the
// resource for access tokens.
func Groups(ctx context.Context, st store.Directory, tenantID, userID string, app store.Application) (groups, wids []string, err error) {
	kinds, err := directory.ParseGroupMembershipClaims(app.GroupMembershipClaims)
	if err != nil || len(kinds) == 0 {
		return nil, nil, err
	}
	member, err := MemberOf(ctx, st, tenantID, userID)
	if err != nil {
		return nil, nil, err
	}
	all, security, application := kinds[directory.GroupClaimsAll], kinds[directory.GroupClaimsSecurityGroup], kinds[directory.GroupClaimsApplicationGroup]
	var assigned map[string]bool
	if application && !all {
		if assigned, err = groupsAssignedTo(ctx, st, tenantID, app.AppID); err != nil {
			return nil, nil, err
		}
	}
	for _, g := range member {
		if all || security && g.SecurityEnabled || assigned[g.ID] {
			groups = append(groups, g.ID)
		}
	}
	if all || kinds[directory.GroupClaimsDirectoryRole] {
		principals := map[string]bool{userID: true}
		for _, g := range member {
			principals[g.ID] = true
		}
		ras, err := st.ListDirectoryRoleAssignments(ctx, tenantID)
		if err != nil {
			return nil, nil, err
		}
		for _, ra := range ras {
			if id := strings.ToLower(ra.RoleDefinitionID); principals[ra.PrincipalID] && !slices.Contains(wids, id) {
				wids = append(wids, id)
			}
		}
		sort.Strings(wids)
	}
	return groups, wids, nil
}

// groupsAssignedTo is the set of groups with an app role assignment on
// appID's service principal in the tenant.
func groupsAssignedTo(ctx context.Context, st store.Directory, tenantID, appID string) (map[string]bool, error) {
	sp, err := st.GetServicePrincipalByAppID(ctx, tenantID, appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	as, err := st.ListAppRoleAssignments(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range as {
		if a.ResourceID == sp.ID && a.PrincipalType == store.PrincipalTypeGroup {
			out[a.PrincipalID] = true
		}
	}
	return out, nil
}

// userAssignments returns the app role assignments on resource's service
// principal held by userID or by any group the user is in (transitively).
func userAssignments(ctx context.Context, st store.Directory, tenantID string, resource store.Application, userID string) ([]store.AppRoleAssignment, error) {
	sp, err := st.GetServicePrincipalByAppID(ctx, tenantID, resource.AppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	member, err := MemberOf(ctx, st, tenantID, userID)
	if err != nil {
		return nil, err
	}
	principals := []string{userID}
	for _, g := range member {
		principals = append(principals, g.ID)
	}
	var as []store.AppRoleAssignment
	if len(principals) <= 8 {
		for _, p := range principals {
			got, err := st.ListAppRoleAssignmentsOf(ctx, tenantID, p)
			if err != nil {
				return nil, err
			}
			as = append(as, got...)
		}
	} else if as, err = st.ListAppRoleAssignments(ctx, tenantID); err != nil {
		// One query for the tenant rather than one per group.
		return nil, err
	}
	return slices.DeleteFunc(as, func(a store.AppRoleAssignment) bool {
		return a.ResourceID != sp.ID || !slices.Contains(principals, a.PrincipalID)
	}), nil
}

// UserRoles returns the values of resource's app roles assigned to userID,
// directly or through a group (transitively): the roles claim of the user's
// tokens for resource (for an ID token, resource is the client). Only
// enabled roles open to users count; the "Default Access" assignment has no
// value.
func UserRoles(ctx context.Context, st store.Directory, tenantID string, resource store.Application, userID string) ([]string, error) {
	as, err := userAssignments(ctx, st, tenantID, resource, userID)
	if err != nil {
		return nil, err
	}
	return roleValues(resource, as, directory.AllowedMemberUser), nil
}

// IsAssigned reports whether userID (or a group of theirs) has any app role
// assignment on resource, "Default Access" included: what an app with
// appRoleAssignmentRequired demands (else AADSTS50105).
func IsAssigned(ctx context.Context, st store.Directory, tenantID string, resource store.Application, userID string) (bool, error) {
	as, err := userAssignments(ctx, st, tenantID, resource, userID)
	return len(as) > 0, err
}

// AppRoles returns the values of resource's app roles assigned to the
// client's service principal: the roles of a client_credentials token. A
// client without a service principal in the tenant has none.
func AppRoles(ctx context.Context, st store.Directory, tenantID string, resource store.Application, clientAppID string) ([]string, error) {
	res, err := st.GetServicePrincipalByAppID(ctx, tenantID, resource.AppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	client, err := st.GetServicePrincipalByAppID(ctx, tenantID, clientAppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	as, err := st.ListAppRoleAssignmentsOf(ctx, tenantID, client.ID)
	if err != nil {
		return nil, fmt.Errorf("app role assignments of %s: %w", clientAppID, err)
	}
	as = slices.DeleteFunc(as, func(a store.AppRoleAssignment) bool { return a.ResourceID != res.ID })
	return roleValues(resource, as, directory.AllowedMemberApplication), nil
}

// roleValues maps assignments to the values of the app's enabled roles open
// to memberType, in the order the app defines its roles, each once.
func roleValues(app store.Application, as []store.AppRoleAssignment, memberType string) []string {
	var out []string
	for _, r := range app.AppRoles {
		if !r.IsEnabled || r.Value == "" || !slices.Contains(r.AllowedMemberTypes, memberType) {
			continue
		}
		if slices.ContainsFunc(as, func(a store.AppRoleAssignment) bool { return strings.EqualFold(a.AppRoleID, r.ID) }) {
			out = append(out, r.Value)
		}
	}
	return out
}
