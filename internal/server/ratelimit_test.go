package server

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	l := newLimiter(2, 4) // 2/s, bursts of 4
	now := time.Unix(1_700_000_000, 0)
	for i := range 4 {
		if d := l.take("a", now); d != 0 {
			t.Fatalf("request %d of the burst refused (%v)", i+1, d)
		}
	}
	if d := l.take("a", now); d != 500*time.Millisecond {
		t.Fatalf("over the burst: wait %v, want 500ms", d)
	}
	if d := l.take("b", now); d != 0 {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond) // one token back
	if d := l.take("a", now); d != 0 {
		t.Fatalf("after refilling one: %v", d)
	}
	if d := l.take("a", now); d == 0 {
		t.Fatal("took a token that was not there")
	}
	// Buckets that are full again are dropped at the next sweep.
	now = now.Add(time.Minute)
	l.take("c", now)
	if len(l.buckets) != 1 {
		t.Errorf("%d buckets after the sweep, want only c's", len(l.buckets))
	}
}

func TestLimitedEndpoints(t *testing.T) {
	for _, tc := range []struct {
		method, path  string
		limited, page bool
	}{
		{"POST", "/common/oauth2/v2.0/token", true, false},
		{"POST", "/contoso.onmicrosoft.com/oauth2/token", true, false},
		{"POST", "/organizations/oauth2/v2.0/devicecode", true, false},
		{"POST", "/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token", true, false},
		{"OPTIONS", "/common/oauth2/v2.0/token", false, false},
		{"GET", "/common/oauth2/v2.0/authorize", true, true},
		{"POST", "/common/oauth2/authorize", true, true},
		{"POST", "/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/login", true, true},
		{"GET", "/devicelogin", true, true},
		{"POST", "/contoso.onmicrosoft.com/b2c_1_signin/api/selfasserted", true, true},
		{"GET", "/common/discovery/v2.0/keys", false, false},
		{"GET", "/common/v2.0/.well-known/openid-configuration", false, false},
		{"GET", "/oidc/userinfo", false, false},
	} {
		limited, page := limitedEndpoint(httptest.NewRequest(tc.method, tc.path, nil))
		if limited != tc.limited || page != tc.page {
			t.Errorf("%s %s: limited %v page %v, want %v %v", tc.method, tc.path, limited, page, tc.limited, tc.page)
		}
	}
}
