package main

import (
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// What admin commands print for users and applications. The stored types
// carry hashes (a user's password hash, a client secret's keyed hash) that
// must never leave the database. Users and credentials are printed through
// views that list what is printed rather than what is hidden, so a property
// added to them later stays unprinted until someone adds it here. Tenants,
// groups and service principals hold no secrets and are printed as stored.
// admin_test.go checks that no stored hash appears in any output.

// userView is a user without its password hash.
type userView struct {
	ID                         string    `json:"id"`
	TenantID                   string    `json:"tenantId"`
	UserPrincipalName          string    `json:"userPrincipalName"`
	DisplayName                string    `json:"displayName,omitempty"`
	GivenName                  string    `json:"givenName,omitempty"`
	Surname                    string    `json:"surname,omitempty"`
	Mail                       string    `json:"mail,omitempty"`
	AccountEnabled             bool      `json:"accountEnabled"`
	UserType                   string    `json:"userType"`
	HomeTenantID               string    `json:"homeTenantId,omitempty"`
	HomeUserID                 string    `json:"homeUserId,omitempty"`
	LastPasswordChangeDateTime time.Time `json:"lastPasswordChangeDateTime,omitzero"`
	CreatedDateTime            time.Time `json:"createdDateTime"`
}

func newUserView(u store.User) userView {
	return userView{
		ID: u.ID, TenantID: u.TenantID, UserPrincipalName: u.UserPrincipalName,
		DisplayName: u.DisplayName, GivenName: u.GivenName, Surname: u.Surname, Mail: u.Mail,
		AccountEnabled: u.AccountEnabled, UserType: u.UserType,
		HomeTenantID: u.HomeTenantID, HomeUserID: u.HomeUserID,
		LastPasswordChangeDateTime: u.LastPasswordChangeDateTime, CreatedDateTime: u.CreatedDateTime,
	}
}

// passwordCredentialView is a client secret as Graph lists it: no secret, no hash.
type passwordCredentialView struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Hint          string    `json:"hint"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
}

func newPasswordCredentialView(c store.PasswordCredential) passwordCredentialView {
	return passwordCredentialView{KeyID: c.KeyID, DisplayName: c.DisplayName, Hint: c.Hint, StartDateTime: c.StartDateTime, EndDateTime: c.EndDateTime}
}

// newSecretView is the one output that carries a client secret: the answer
// to `app secret add`, like Graph's addPassword.
type newSecretView struct {
	passwordCredentialView
	SecretText string `json:"secretText"`
}

// keyCredentialView is a certificate credential without the certificate
// itself (Graph also returns the key only when asked for it).
type keyCredentialView struct {
	KeyID               string    `json:"keyId"`
	DisplayName         string    `json:"displayName"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
	CustomKeyIdentifier []byte    `json:"customKeyIdentifier"`
	StartDateTime       time.Time `json:"startDateTime"`
	EndDateTime         time.Time `json:"endDateTime"`
}

func newKeyCredentialView(c store.KeyCredential) keyCredentialView {
	return keyCredentialView{
		KeyID: c.KeyID, DisplayName: c.DisplayName, Type: c.Type, Usage: c.Usage,
		CustomKeyIdentifier: c.CustomKeyIdentifier, StartDateTime: c.StartDateTime, EndDateTime: c.EndDateTime,
	}
}

// applicationView is an app registration with its credentials replaced by
// their views. The two fields below shadow the embedded ones of the same JSON
// name (encoding/json prefers the shallower field), so the stored credentials
// are never encoded.
type applicationView struct {
	store.Application
	PasswordCredentials []passwordCredentialView `json:"passwordCredentials"`
	KeyCredentials      []keyCredentialView      `json:"keyCredentials"`
}

func newApplicationView(a store.Application) applicationView {
	v := applicationView{
		Application:         a,
		PasswordCredentials: make([]passwordCredentialView, 0, len(a.PasswordCredentials)),
		KeyCredentials:      make([]keyCredentialView, 0, len(a.KeyCredentials)),
	}
	// Drop the embedded copies too, so nothing can reach them by accident.
	v.Application.PasswordCredentials, v.Application.KeyCredentials = nil, nil
	for _, c := range a.PasswordCredentials {
		v.PasswordCredentials = append(v.PasswordCredentials, newPasswordCredentialView(c))
	}
	for _, c := range a.KeyCredentials {
		v.KeyCredentials = append(v.KeyCredentials, newKeyCredentialView(c))
	}
	return v
}

func identity[T any](v T) T { return v }
