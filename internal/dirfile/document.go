// Package dirfile reads Entrance's declarative directory file (YAML) and
// applies it to a store: tenants, users, groups, applications, service
// principals, role assignments and consent, in one transaction, idempotently.
//
// Every problem is reported with the file, line and property path
// (directory.yaml:27: tenants[0].applications[1].web.redirectUris[0]: ...),
// and all problems are reported together. The format is described in
// docs/directory-file.md.
package dirfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/entranceidp/entrance/internal/store"
)

// Document is a parsed directory file. Properties follow Microsoft Graph; a
// property left out keeps its stored value (or Entra's default on creation),
// like a Graph PATCH. The fields reuse the store's types where the file and
// Graph agree.
type Document struct {
	Tenants []Tenant `yaml:"tenants"`

	file  string    // the name errors carry
	dir   string    // certificateFile paths are relative to it
	lines positions // property path → line
}

// Tenant is a directory with everything in it.
type Tenant struct {
	// ID is the tenant GUID; when absent the tenant is matched by its first
	// domain, or created with a new GUID.
	ID                     string              `yaml:"id"`
	DisplayName            string              `yaml:"displayName"`
	Type                   string              `yaml:"type"` // aad (default) | b2c
	Domains                []string            `yaml:"domains"`
	Users                  []User              `yaml:"users"`
	Groups                 []Group             `yaml:"groups"`
	Applications           []Application       `yaml:"applications"`
	ServicePrincipals      []ServicePrincipal  `yaml:"servicePrincipals"`
	DirectoryRoles         []DirectoryRole     `yaml:"directoryRoles"`
	AppRoleAssignments     []AppRoleAssignment `yaml:"appRoleAssignments"`
	OAuth2PermissionGrants []PermissionGrant   `yaml:"oauth2PermissionGrants"`
	// UserFlows are a b2c tenant's user flows (userflows.go).
	UserFlows []UserFlow `yaml:"userFlows"`
}

// User is a member, or a guest (userType: Guest) of a home user elsewhere.
// In a b2c tenant a user with a mail and no userPrincipalName is a local
// account that signs in with that mail.
type User struct {
	ID                string `yaml:"id"`
	UserPrincipalName string `yaml:"userPrincipalName"`
	DisplayName       string `yaml:"displayName"`
	GivenName         string `yaml:"givenName"`
	Surname           string `yaml:"surname"`
	Mail              string `yaml:"mail"`
	AccountEnabled    bool   `yaml:"accountEnabled"`
	UserType          string `yaml:"userType"`
	// HomeUser is, for a guest, the UPN of its member object in another tenant.
	HomeUser string `yaml:"homeUser"`
	// Password is hashed with argon2id on apply; never stored as given.
	Password string `yaml:"password"`
}

// Group is a security group; Members are UPNs or names of groups in the tenant.
type Group struct {
	ID              string   `yaml:"id"`
	DisplayName     string   `yaml:"displayName"`
	Description     string   `yaml:"description"`
	SecurityEnabled bool     `yaml:"securityEnabled"`
	MailEnabled     bool     `yaml:"mailEnabled"`
	Members         []string `yaml:"members"`
}

// Application is an app registration; appId is required (it is how the file
// and clients refer to the app).
type Application struct {
	ID                     string                         `yaml:"id"`
	AppID                  string                         `yaml:"appId"`
	DisplayName            string                         `yaml:"displayName"`
	SignInAudience         string                         `yaml:"signInAudience"`
	Web                    store.WebApplication           `yaml:"web"`
	SPA                    store.RedirectURIs             `yaml:"spa"`
	PublicClient           store.RedirectURIs             `yaml:"publicClient"`
	IsFallbackPublicClient bool                           `yaml:"isFallbackPublicClient"`
	IdentifierURIs         []string                       `yaml:"identifierUris"`
	API                    store.APIApplication           `yaml:"api"`
	AppRoles               []store.AppRole                `yaml:"appRoles"`
	GroupMembershipClaims  string                         `yaml:"groupMembershipClaims"`
	OptionalClaims         store.OptionalClaims           `yaml:"optionalClaims"`
	RequiredResourceAccess []store.RequiredResourceAccess `yaml:"requiredResourceAccess"`
	PasswordCredentials    []PasswordCredential           `yaml:"passwordCredentials"`
	KeyCredentials         []KeyCredential                `yaml:"keyCredentials"`
	UseOwnSigningKey       bool                           `yaml:"useOwnSigningKey"`
}

// PasswordCredential is a client secret given in the file (for development).
type PasswordCredential struct {
	DisplayName string    `yaml:"displayName"`
	SecretText  string    `yaml:"secretText"`
	EndDateTime time.Time `yaml:"endDateTime"`
}

// KeyCredential is a certificate, inline (PEM) or from a file relative to the
// directory file.
type KeyCredential struct {
	DisplayName     string `yaml:"displayName"`
	Certificate     string `yaml:"certificate"`
	CertificateFile string `yaml:"certificateFile"`
}

// ServicePrincipal sets how an app is instantiated in this tenant. The app's
// home tenant gets one without asking, as do tenants whose assignments or
// grants refer to the app.
type ServicePrincipal struct {
	ID                        string `yaml:"id"`
	AppID                     string `yaml:"appId"`
	AccountEnabled            bool   `yaml:"accountEnabled"`
	AppRoleAssignmentRequired bool   `yaml:"appRoleAssignmentRequired"`
}

// DirectoryRole assigns a built-in directory role to a user (UPN) or group (name),
// by role template id or by the role's display name ("Global Administrator").
type DirectoryRole struct {
	Principal      string `yaml:"principal"`
	RoleTemplateID string `yaml:"roleTemplateId"`
	Role           string `yaml:"role"`
}

// AppRoleAssignment gives a principal (an appId, a UPN or a group name) an app
// role (its value or id) of a resource app (its appId). Without appRole a user
// or group gets Default Access.
type AppRoleAssignment struct {
	Principal string `yaml:"principal"`
	Resource  string `yaml:"resource"`
	AppRole   string `yaml:"appRole"`
}

// PermissionGrant is delegated consent for client to call resource with
// the space-separated scope, for everyone (AllPrincipals) or one user (Principal).
type PermissionGrant struct {
	Client      string `yaml:"client"`
	Resource    string `yaml:"resource"`
	Scope       string `yaml:"scope"`
	ConsentType string `yaml:"consentType"`
	Principal   string `yaml:"principal"`
}

// Load reads and parses the directory file at path.
func Load(path string) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses a directory file; name is what errors call it, and relative
// certificateFile paths are taken from its directory. The error is Errors:
// malformed YAML, unknown or duplicate properties and wrong types, each with
// its line and property path. Rules over values are checked by Apply.
func Parse(name string, data []byte) (*Document, error) {
	doc := &Document{file: name, dir: filepath.Dir(name), lines: positions{}}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: name, Message: "the file is empty"}}
		}
		return nil, yamlError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: name, Line: extra.Line, Message: "only one YAML document is allowed (found a second after ---)"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(name, data, err)
	}
	d := &decoder{file: name, lines: doc.lines}
	d.decode(&root, "", reflect.ValueOf(doc).Elem())
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	if len(doc.Tenants) == 0 {
		return nil, Errors{{File: name, Line: root.Line, Property: "tenants", Message: "at least one tenant is required"}}
	}
	return doc, nil
}

// yamlError turns the YAML library's error ("yaml: line 3: ...") into ours.
// At an unexpected end of the file the library names the line after the
// last one; the error points at the last line instead.
func yamlError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return Errors{{File: name, Message: err.Error()}}
	}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		line = min(line, lineCount(data))
		return Errors{{File: name, Line: line, Message: "malformed YAML: " + m[2]}}
	}
	return Errors{{File: name, Message: "malformed YAML: " + err.Error()}}
}

// lineCount is the number of lines in data as YAML counts them: CR LF, CR,
// LF, NEL, LS and PS each end a line (a CR-only file is one line per CR for
// the YAML library, and so for the line numbers in its errors).
func lineCount(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			n++
		case data[i] == '\n':
			n++
		case data[i] == 0xC2 && i+1 < len(data) && data[i+1] == 0x85: // NEL
			i++
			n++
		case data[i] == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9): // LS, PS
			i += 2
			n++
		}
	}
	return n
}
