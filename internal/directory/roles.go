package directory

import (
	"sort"
	"strings"

	"github.com/entranceidp/entrance/internal/ids"
)

// builtInRoles maps the display names of common Entra built-in directory roles
// to their role template ids (the values that appear in `wids`), as listed in
// Microsoft's "Microsoft Entra built-in roles".
var builtInRoles = map[string]string{
	"Application Administrator":               "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	"Application Developer":                   "cf1c38e5-3621-4004-a7cb-879624dced7c",
	"Authentication Administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"Billing Administrator":                   "b0f54661-2d74-4c50-afa3-1ec803f12efe",
	"Cloud Application Administrator":         "158c047a-c907-4556-b7ef-446551a6b5f7",
	"Compliance Administrator":                "17315797-102d-40b4-93e0-432062caca18",
	"Conditional Access Administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"Directory Readers":                       "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
	"Directory Writers":                       "9360feb5-f418-4baa-8175-e2a00bac4301",
	"Exchange Administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"Global Administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"Global Reader":                           "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
	"Groups Administrator":                    "fdd7a751-b60b-444a-984c-02652fe8fa1c",
	"Guest Inviter":                           "95e79109-95c0-4d8e-aee3-d01accf2d47b",
	"Helpdesk Administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"Intune Administrator":                    "3a2c62db-5318-420d-8d74-23affee5d9d5",
	"Password Administrator":                  "966707d0-3269-4727-9be2-8c3a10f19b9d",
	"Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"Privileged Role Administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"Reports Reader":                          "4a5d8f65-41da-4de4-8968-e035b65339cf",
	"Security Administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"Security Reader":                         "5d6b6bb7-de71-4623-b4af-96380a352509",
	"SharePoint Administrator":                "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
	"Teams Administrator":                     "69091246-20e8-4a56-aa4d-066075b2a7a8",
	"User Administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
}

// RoleTemplateID returns the role template id for a built-in role's display
// name (case-insensitive) or for a GUID given as is (lower-cased).
func RoleTemplateID(nameOrID string) (string, bool) {
	if ids.IsGUID(nameOrID) {
		return strings.ToLower(nameOrID), true
	}
	for name, id := range builtInRoles {
		if strings.EqualFold(name, strings.TrimSpace(nameOrID)) {
			return id, true
		}
	}
	return "", false
}

// BuiltInRoleNames lists the role names RoleTemplateID knows, sorted.
func BuiltInRoleNames() []string {
	names := make([]string, 0, len(builtInRoles))
	for n := range builtInRoles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
