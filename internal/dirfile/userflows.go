package dirfile

import (
	"strconv"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// UserFlow is an Azure AD B2C user flow (policy) of a b2c tenant, with the
// settings of B2C's user flow blade: what it collects, what its tokens
// return, token lifetimes and token compatibility.
type UserFlow struct {
	Name               string             `yaml:"name"`
	Type               string             `yaml:"type"` // signUpOrSignIn | signIn | signUp | profileEdit | passwordReset
	Attributes         []string           `yaml:"attributes"`
	Claims             []string           `yaml:"claims"`
	TokenLifetimes     TokenLifetimes     `yaml:"tokenLifetimes"`
	TokenCompatibility TokenCompatibility `yaml:"tokenCompatibility"`
}

// TokenLifetimes are durations such as 60m, 1h or 14d; the sliding window
// may also be "unbounded". Absent ones take B2C's defaults (60m, 60m, 14d, 90d).
type TokenLifetimes struct {
	AccessToken               string `yaml:"accessToken"`
	IDToken                   string `yaml:"idToken"`
	RefreshToken              string `yaml:"refreshToken"`
	RefreshTokenSlidingWindow string `yaml:"refreshTokenSlidingWindow"`
}

// TokenCompatibility: issuer "default" ({base}/{tid}/v2.0/) or "tfp"
// ({base}/tfp/{tid}/{policy}/v2.0/); userFlowClaim "tfp" or "acr" (legacy).
type TokenCompatibility struct {
	Issuer        string `yaml:"issuer"`
	UserFlowClaim string `yaml:"userFlowClaim"`
}

// planUserFlows turns the file's user flows into the tenant's (the rules
// are checked with the tenant, by directory.ValidateTenant).
func (p *planner) planUserFlows(path string, src []UserFlow) []store.UserFlow {
	out := make([]store.UserFlow, 0, len(src))
	for i, f := range src {
		fp := indexPath(joinPath(path, "userFlows"), i)
		uf := store.UserFlow{Name: strings.TrimSpace(f.Name), Type: f.Type, Attributes: f.Attributes, Claims: f.Claims}
		lp := joinPath(fp, "tokenLifetimes")
		uf.TokenLifetimeSecs = p.lifetime(joinPath(lp, "accessToken"), f.TokenLifetimes.AccessToken, false)
		uf.IDTokenLifetimeSecs = p.lifetime(joinPath(lp, "idToken"), f.TokenLifetimes.IDToken, false)
		uf.RefreshTokenLifetimeSecs = p.lifetime(joinPath(lp, "refreshToken"), f.TokenLifetimes.RefreshToken, false)
		uf.RollingRefreshTokenLifetimeSecs = p.lifetime(joinPath(lp, "refreshTokenSlidingWindow"), f.TokenLifetimes.RefreshTokenSlidingWindow, true)
		cp := joinPath(fp, "tokenCompatibility")
		switch f.TokenCompatibility.Issuer {
		case "", "default":
		case "tfp":
			uf.IssuerTFP = true
		default:
			p.errorf(joinPath(cp, "issuer"), "%q: use default ({base}/{tenant id}/v2.0/) or tfp ({base}/tfp/{tenant id}/{policy}/v2.0/)", f.TokenCompatibility.Issuer)
		}
		switch f.TokenCompatibility.UserFlowClaim {
		case "", "tfp":
		case "acr":
			uf.PolicyClaimACR = true
		default:
			p.errorf(joinPath(cp, "userFlowClaim"), "%q: use tfp or acr", f.TokenCompatibility.UserFlowClaim)
		}
		out = append(out, uf)
	}
	return out
}

// lifetime parses a duration (Go's form, or whole days as 14d) into
// seconds; "unbounded" is -1 where allowed. Ranges are the validator's.
func (p *planner) lifetime(path, v string, unbounded bool) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if unbounded && v == "unbounded" {
		return -1
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			d = -1
		} else {
			d = time.Duration(n) * 24 * time.Hour
		}
	} else if x, err := time.ParseDuration(v); err == nil && x > 0 {
		d = x
	} else {
		d = -1
	}
	if d <= 0 || d%time.Second != 0 {
		hint := "a duration such as 60m, 1h or 14d"
		if unbounded {
			hint += ", or unbounded"
		}
		p.errorf(path, "%q is not %s", v, hint)
		return 0
	}
	return int(d / time.Second)
}
