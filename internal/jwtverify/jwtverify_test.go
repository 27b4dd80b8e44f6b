package jwtverify_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/jwtverify"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

type urls struct{}

func (urls) IssuerV1(t string) string { return "https://sts.example/" + t + "/" }
func (urls) IssuerV2(t string) string { return "https://login.example/" + t + "/v2.0" }

func TestVerify(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	raw := make([]byte, sealbox.MasterKeyLen)
	_, _ = rand.Read(raw)
	mk, err := sealbox.NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	km := keys.NewManager(st, box, keys.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tenant, other := ids.NewGUID(), ids.NewGUID()
	for i, id := range []string{tenant, other} {
		if err := st.CreateTenant(ctx, store.Tenant{ID: id, DisplayName: "t", Type: store.TenantTypeAAD, Domains: []string{[]string{"a.example.com", "b.example.com"}[i]}}); err != nil {
			t.Fatal(err)
		}
	}
	own := store.Application{AppID: ids.NewGUID(), TenantID: tenant, UseOwnSigningKey: true}
	v := jwtverify.New(jwtverify.Options{Store: st, Keys: km, URLs: urls{}})

	now := time.Now()
	base := func(edit map[string]any) map[string]any {
		c := map[string]any{"aud": "api://x", "iss": urls{}.IssuerV2(tenant), "tid": tenant, "oid": ids.NewGUID(),
			"scp": "a b", "azp": ids.NewGUID(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range edit {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	sign := func(keyTenant, keyApp string, c map[string]any) string {
		k, err := km.SigningKey(ctx, keyTenant, keyApp)
		if err != nil {
			t.Fatal(err)
		}
		jwt, err := k.SignJWT(c, true)
		if err != nil {
			t.Fatal(err)
		}
		return jwt
	}
	good := sign(tenant, "", base(nil))
	parts := strings.Split(good, ".")
	hs256 := func() string {
		h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
		return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + parts[2]
	}()

	for _, tc := range []struct {
		name   string
		token  string
		keyApp *store.Application
		kind   int // 0: valid
	}{
		{"v2 issuer", good, nil, 0},
		{"v1 issuer", sign(tenant, "", base(map[string]any{"iss": urls{}.IssuerV1(tenant)})), nil, 0},
		{"within the clock skew", sign(tenant, "", base(map[string]any{"exp": now.Add(-time.Minute).Unix()})), nil, 0},
		{"the app's own key", sign(tenant, own.AppID, base(nil)), &own, 0},
		{"the app's own key, app not named", sign(tenant, own.AppID, base(nil)), nil, jwtverify.BadSignature},
		{"not a JWT", "abc", nil, jwtverify.Malformed},
		{"bad base64", parts[0] + "." + parts[1] + "!." + parts[2], nil, jwtverify.Malformed},
		{"HS256", hs256, nil, jwtverify.BadAlgorithm},
		{"tampered", parts[0] + "." + strings.Split(sign(tenant, "", base(map[string]any{"scp": "admin"})), ".")[1] + "." + parts[2], nil, jwtverify.BadSignature},
		{"another tenant's key", sign(other, "", base(nil)), nil, jwtverify.BadSignature},
		{"another issuer", sign(tenant, "", base(map[string]any{"iss": urls{}.IssuerV2(other)})), nil, jwtverify.BadIssuer},
		{"unknown tenant", sign(tenant, "", base(map[string]any{"tid": ids.NewGUID()})), nil, jwtverify.UnknownTenant},
		{"no tenant", sign(tenant, "", base(map[string]any{"tid": nil})), nil, jwtverify.UnknownTenant},
		{"expired", sign(tenant, "", base(map[string]any{"exp": now.Add(-time.Hour).Unix()})), nil, jwtverify.Expired},
		{"no exp", sign(tenant, "", base(map[string]any{"exp": nil})), nil, jwtverify.Expired},
		{"not yet valid", sign(tenant, "", base(map[string]any{"nbf": now.Add(time.Hour).Unix()})), nil, jwtverify.NotYetValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(ctx, tc.token, tc.keyApp)
			var ve *jwtverify.Error
			switch {
			case tc.kind == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.kind == 0 && (c.Scp != "a b" || c.AppOnly() || !c.HasScope("B")):
				t.Errorf("claims %+v", c)
			case tc.kind != 0 && (!errors.As(err, &ve) || ve.Kind != tc.kind):
				t.Errorf("got %v, want kind %d", err, tc.kind)
			}
		})
	}

	// A rotation: the new signing key was published as "next" before it
	// signs, so tokens it signs verify at once.
	if _, err := v.Verify(ctx, good, nil); err != nil {
		t.Fatal(err)
	}
	if err := km.Rotate(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	rotated := keys.NewManager(st, box, keys.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	k, err := rotated.SigningKey(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	jwt, _ := k.SignJWT(base(nil), false)
	if _, err := v.Verify(ctx, jwt, nil); err != nil {
		t.Errorf("a token of the rotated key: %v", err)
	}
}
