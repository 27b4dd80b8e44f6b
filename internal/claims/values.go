package claims

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Lifetimes and clock skew, Entra's defaults.
const (
	// Backdate is how far iat and nbf lie before the moment of issue: decoded
	// Entra tokens show iat = nbf = issue time - 5 minutes (an access token
	// answered with expires_in 3781 had exp - iat = 4082), which absorbs
	// clock skew at the resource.
	Backdate = 5 * time.Minute
	// IDTokenLifetime: exp of an ID token is one hour after issue.
	IDTokenLifetime = time.Hour
	// Access tokens live a random time between these by default, so that
	// many clients do not all refresh at once.
	DefaultAccessTokenMin = 60 * time.Minute
	DefaultAccessTokenMax = 90 * time.Minute
)

// Group limits: more groups than this and a token carries an overage
// instead of the `groups` claim.
const (
	// JWTGroupLimit: above 200 groups a JWT gets _claim_names/_claim_sources.
	JWTGroupLimit = 200
	// ImplicitGroupLimit: tokens returned from /authorize (implicit flow)
	// travel in a URL fragment; at six groups or more they get hasgroups
	// instead ("currently six or more groups", access token reference).
	ImplicitGroupLimit = 5
)

// ClientAuth is how the client authenticated: the appidacr / azpacr value.
type ClientAuth int

// Client authentication methods, as Entra numbers them.
const (
	ClientAuthPublic      ClientAuth = 0 // no credential (public client)
	ClientAuthSecret      ClientAuth = 1 // client secret
	ClientAuthCertificate ClientAuth = 2 // certificate / signed assertion
)

func (c ClientAuth) String() string { return string(rune('0' + c)) }

// PairwiseSubject computes the `sub` claim: a keyed HMAC-SHA-256 of (tenant,
// app, user), base64url without padding — 43 characters like Entra's. It is
// stable for the same three and unlinkable across apps and tenants without
// the key (serversecrets.PairwiseSubjectKey).
func PairwiseSubject(key []byte, tenantID, appID, userID string) string {
	m := hmac.New(sha256.New, key)
	// NUL separators keep ("ab","c") and ("a","bc") apart.
	m.Write([]byte(strings.ToLower(tenantID) + "\x00" + strings.ToLower(appID) + "\x00" + strings.ToLower(userID)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// HalfHash is the OpenID Connect at_hash / c_hash of value: the base64url of
// the left half of its SHA-256 (the hash of RS256).
func HalfHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// ClientInfo is the `client_info` of a token response: the base64url of
// {"uid":…,"utid":…}, the user's home account (MSAL builds its account id,
// uid.utid, from it).
func ClientInfo(uid, utid string) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{uid, utid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ClientInfoFor is ClientInfo for u: a guest's home object and tenant, since
// client_info names the home account.
func ClientInfoFor(u store.User) string {
	oid, tid := homeOf(u)
	return ClientInfo(oid, tid)
}

// AccessTokenLifetime picks an access token lifetime uniformly in [min, max]
// in whole seconds, reading randomness from r (crypto/rand when nil). Zero
// bounds take the defaults (60 and 90 minutes); max below min means min.
func AccessTokenLifetime(r io.Reader, min, max time.Duration) time.Duration {
	if min <= 0 {
		min = DefaultAccessTokenMin
	}
	if max <= 0 {
		max = DefaultAccessTokenMax
	}
	span := int64((max - min) / time.Second)
	if span <= 0 {
		return min
	}
	var b [8]byte
	readRandom(r, b[:])
	return min + time.Duration(binary.BigEndian.Uint64(b[:])%uint64(span+1))*time.Second
}

// SessionSID is the `sid` claim for an SSO session: a GUID derived from the
// session record's ID, so that the claim, the front-channel sign-out URL and
// the session agree without storing another value, and the cookie's hash
// never appears in a token.
func SessionSID(sessionID string) string {
	if sessionID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("sid\x00" + sessionID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40 // version 4, like a random GUID
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// LoginHint is the value of the `login_hint` optional claim: opaque, base64
// ("An opaque, reliable login hint claim that's base 64 encoded"). Entra's
// starts "O.CiQ": "O." and the standard base64 of a protobuf message whose
// first field is a 36-character GUID. Ours is the same shape: field 1 the
// home object id, field 2 the home tenant id, field 3 the username. It names
// the home account, not the current tenant, as the reference says.
func LoginHint(homeOID, homeTID, username string) string {
	var b []byte
	for i, v := range []string{homeOID, homeTID, username} {
		b = append(b, byte((i+1)<<3|2)) // field i+1, wire type 2 (bytes)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return "O." + base64.StdEncoding.EncodeToString(b)
}

// ParseLoginHint reads a value made by LoginHint (a login_hint or
// logout_hint parameter), reporting false for anything else.
func ParseLoginHint(hint string) (homeOID, homeTID, username string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hint, "O."))
	if err != nil || !strings.HasPrefix(hint, "O.") {
		return "", "", "", false
	}
	var fields [3]string
	for i := range fields {
		if len(raw) == 0 || raw[0] != byte((i+1)<<3|2) {
			return "", "", "", false
		}
		n, w := binary.Uvarint(raw[1:])
		if w <= 0 || uint64(len(raw)-1-w) < n {
			return "", "", "", false
		}
		fields[i] = string(raw[1+w : 1+w+int(n)])
		raw = raw[1+w+int(n):]
	}
	return fields[0], fields[1], fields[2], len(raw) == 0
}

// The opaque claims below are Entra-shaped so that tools decoding tokens see
// what they expect; nothing reads them back.

// newUTI is a token identifier: 16 bytes, base64url, 22 characters. Entra's
// usually end in "AA" (a zero last byte); ours do too.
func newUTI(r io.Reader) string {
	var b [16]byte
	readRandom(r, b[:15])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newAIO is the `aio` claim. Entra's user-token values are standard base64
// starting with a fixed-looking 9-byte header ("AXQAi/8IAAAA…" decodes to
// 01 74 00 8b ff 08 00 00 00) and then encrypted data; app-only tokens carry
// a short value ("E2ZgYEg3Vdmf6hspv/uPMbff8/MCAA==").
func newAIO(r io.Reader, appOnly bool) string {
	if appOnly {
		b := make([]byte, 22)
		readRandom(r, b[:21])
		return base64.StdEncoding.EncodeToString(b)
	}
	b := make([]byte, 9+48)
	copy(b, []byte{0x01, 0x74, 0x00, 0x8b, 0xff, 0x08, 0x00, 0x00, 0x00})
	readRandom(r, b[9:])
	return base64.StdEncoding.EncodeToString(b)
}

// RH is the `rh` claim. Entra's current form is "0." + base64url of 38 bytes
// + ".": a 3-byte header (01 k 00), the tenant GUID and the client's appId in
// Microsoft's little-endian GUID layout, and a 3-byte trailer (k 00 m) —
// decoded from real tokens. Ours fills k and m from a hash so the value is
// stable per (tenant, app).
func RH(tenantID, appID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(tenantID + "\x00" + appID)))
	b := make([]byte, 0, 38)
	b = append(b, 0x01, sum[0], 0x00)
	b = append(b, guidBytesLE(tenantID)...)
	b = append(b, guidBytesLE(appID)...)
	b = append(b, sum[0], 0x00, sum[1])
	return "0." + base64.RawURLEncoding.EncodeToString(b) + "."
}

// guidBytesLE is the 16-byte .NET layout of a GUID (first three groups
// little-endian); anything that is not a GUID becomes 16 zero bytes.
func guidBytesLE(guid string) []byte {
	raw, err := hex.DecodeString(strings.ReplaceAll(guid, "-", ""))
	if err != nil || len(raw) != 16 {
		return make([]byte, 16)
	}
	for _, p := range [][2]int{{0, 3}, {1, 2}, {4, 5}, {6, 7}} {
		raw[p[0]], raw[p[1]] = raw[p[1]], raw[p[0]]
	}
	return raw
}

func readRandom(r io.Reader, b []byte) {
	if r == nil {
		r = rand.Reader
	}
	// crypto/rand never fails; a test reader that runs dry leaves zeros.
	_, _ = io.ReadFull(r, b)
}

// homeOf is the home account of u: a guest's home object and tenant, else u.
func homeOf(u store.User) (oid, tid string) {
	if u.UserType == store.UserTypeGuest && u.HomeUserID != "" {
		return u.HomeUserID, u.HomeTenantID
	}
	return u.ID, u.TenantID
}

// Username is how a user signs in: the UPN, or for a guest the home
// username, recovered from the #EXT# UPN Entra gives guests
// (abeli_contoso.com#EXT#@fabrikam.onmicrosoft.com → abeli@contoso.com; the
// last "_" is the "@", since a domain has no "_"), else the guest's mail. It
// is what preferred_username, unique_name and login hints carry.
func Username(u store.User) string {
	if u.UserType != store.UserTypeGuest {
		return u.UserPrincipalName
	}
	if i := strings.Index(u.UserPrincipalName, "#EXT#"); i > 0 {
		local := u.UserPrincipalName[:i]
		if j := strings.LastIndexByte(local, '_'); j > 0 {
			return local[:j] + "@" + local[j+1:]
		}
	}
	if u.Mail != "" {
		return u.Mail
	}
	return u.UserPrincipalName
}
