package ui

// The data each page renders. Every page has a Title; forms carry the
// sealed flow state and the CSRF token.

// Form is what every sign-in form carries.
type Form struct {
	Title string
	// AppName is the app being signed in to ("to continue to ...").
	AppName string
	// Action is where the form posts.
	Action string
	// Flow is the sealed state of the sign-in in progress.
	Flow string
	// CSRF is the token bound to the browser's CSRF cookie.
	CSRF string
	// Error is a message shown with the form (wrong password, ...).
	Error string
}

// Username is the first sign-in page.
type Username struct {
	Form
	Username string
}

// Password asks for the password of Username.
type Password struct {
	Form
	Username string
}

// Picker lists the accounts signed in to the browser.
type Picker struct {
	Form
	Accounts []PickerAccount
}

// PickerAccount is one tile of the account picker.
type PickerAccount struct {
	// Value identifies the account in the form ("tenantId.userId").
	Value  string
	Name   string
	UPN    string
	Tenant string
}

// Consent lists the permissions an app asks for.
type Consent struct {
	Form
	Username    string
	Publisher   string
	Permissions []Permission
	// CanConsentForOrg offers admin consent for every user of the tenant.
	CanConsentForOrg bool
	// NeedsAdmin: the user may not consent to some of the permissions.
	NeedsAdmin bool
}

// Permission is one permission on the consent page.
type Permission struct {
	Name        string
	Description string
	AdminOnly   bool
}

// Error is the error page.
type Error struct {
	Title         string
	Code          int
	Message       string
	Hint          string
	TraceID       string
	CorrelationID string
	Timestamp     string
	ErrorURI      string
	// RedirectURI and Registered explain AADSTS50011.
	RedirectURI string
	Registered  []string
}

// FormPost carries a response to the app by an auto-submitted form.
type FormPost struct {
	Title  string
	Action string
	Fields []Field
}

// Field is a hidden form field.
type Field struct{ Name, Value string }

// SignedOut is the page after sign-out.
type SignedOut struct {
	Title string
	// FrontChannel are the apps' logout URLs, loaded in hidden iframes.
	FrontChannel []string
	// RedirectURI is where the page sends the browser next, if anywhere.
	RedirectURI string
}
