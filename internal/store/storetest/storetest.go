// Package storetest is the conformance suite every store.Store backend must
// pass (modelled on Dex's storage/conformance), and helpers that give other
// packages' tests a real store: NewSQLite, NewPostgres.
//
// What the suite pins down beyond the interface's comments:
//   - Times come back in UTC, to the nanosecond: a stored UTC time compares
//     equal (reflect.DeepEqual) when read back; any other location comes back
//     as the same instant in UTC.
//   - Natural keys compare case-insensitively: UPN, domain, group name, appId,
//     identifier URI (unique across all applications, in every tenant).
//     Object IDs (GUIDs we generate, lower-case) compare exactly.
//   - Creating an object in a tenant that does not exist is ErrNotFound.
//   - Update's fn may not change the keys that identify the object (ID,
//     TenantID; AppID of applications and service principals).
//   - Inside InTx a failed call changes nothing and the transaction goes on.
//   - Lists are never nil (an empty list encodes as [] in JSON).
//   - For the sign-in flow records, see flows.go; for the audit log, audit.go.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/store"
)

// Run runs the suite. newStore returns a new, empty store for one subtest.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"TenantDeleteCascade", testTenantDeleteCascade},
		{"Users", testUsers},
		{"Groups", testGroups},
		{"DeleteUserAndGroupCleanup", testDeleteUserAndGroupCleanup},
		{"DirectoryRoleAssignments", testDirectoryRoleAssignments},
		{"Applications", testApplications},
		{"ApplicationDeleteCascade", testApplicationDeleteCascade},
		{"ServicePrincipals", testServicePrincipals},
		{"AppRoleAssignments", testAppRoleAssignments},
		{"OAuth2PermissionGrants", testGrants},
		{"KeySets", testKeySets},
		{"ServerSecrets", testServerSecrets},
		{"InTx", testInTx},
		{"ChangeVersion", testChangeVersion},
		{"Times", testTimes},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentCreates", testConcurrentCreates},
		{"IdentifierURIs", testIdentifierURIs},
		{"IdentifierURIsInTx", testIdentifierURIsInTx},
		{"Sessions", testSessions},
		{"AuthorizationCodes", testAuthorizationCodes},
		{"RefreshTokens", testRefreshTokens},
		{"RedeemRace", testRedeemRace},
		{"SignIns", testSignIns},
		{"Counters", testCounters},
		{"ReplayCache", testReplayCache},
		{"DeleteExpired", testDeleteExpired},
		{"FlowCascades", testFlowCascades},
		{"FlowsChangeVersion", testFlowsChangeVersion},
		{"DeviceCodes", testDeviceCodes},
		{"DeviceCodeRace", testDeviceCodeRace},
		{"DeviceCodeCleanup", testDeviceCodeCleanup},
		{"AuditLog", testAuditLog},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var errBoom = errors.New("boom")

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// failed checks that err is set and is none of the store's sentinel errors:
// a refusal for a reason of its own.
func failed(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want one")
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("got %v, want a refusal of its own", err)
	}
}

func same[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", js(got), js(want))
	}
}

func js(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// sameSet compares lists regardless of order.
func sameSet[T any](t *testing.T, got, want []T, id func(T) string) {
	t.Helper()
	sort := func(s []T) []T {
		s = slices.Clone(s)
		slices.SortFunc(s, func(a, b T) int { return strings.Compare(id(a), id(b)) })
		return s
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	same(t, sort(got), sort(want))
}

// must returns v, failing the test if err is set:
// same(t, must(s.GetUser(c, tenantID, id))(t), want).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		ok(t, err)
		return v
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// tenantFixture creates and returns a tenant.
func tenantFixture(t *testing.T, s store.Directory, domain string) store.Tenant {
	t.Helper()
	tn := newTenant(domain)
	ok(t, s.CreateTenant(ctx(t), tn))
	return tn
}

func userFixture(t *testing.T, s store.Directory, tenantID, upn string) store.User {
	t.Helper()
	u := newUser(tenantID, upn)
	ok(t, s.CreateUser(ctx(t), u))
	return u
}

func appFixture(t *testing.T, s store.Directory, tenantID string) store.Application {
	t.Helper()
	a := newApplication(tenantID)
	ok(t, s.CreateApplication(ctx(t), a))
	return a
}

func spFixture(t *testing.T, s store.Directory, tenantID string, a store.Application) store.ServicePrincipal {
	t.Helper()
	sp := newServicePrincipal(tenantID, a)
	ok(t, s.CreateServicePrincipal(ctx(t), sp))
	return sp
}

func userID(u store.User) string                           { return u.ID }
func groupID(g store.Group) string                         { return g.ID }
func appRoleAssignmentID(a store.AppRoleAssignment) string { return a.ID }
func grantID(g store.OAuth2PermissionGrant) string         { return g.ID }
func draID(a store.DirectoryRoleAssignment) string         { return a.ID }
func spID(sp store.ServicePrincipal) string                { return sp.ID }
