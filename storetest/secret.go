package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// SecretStores is one implementation's embedded secret store, opened on a
// fresh empty database.
type SecretStores struct {
	Secrets    openrunner.SecretService
	Parameters openrunner.ParameterService
}

// Secrets runs the conformance suite of openrunner.SecretService and
// openrunner.ParameterService.
func Secrets(t *testing.T, open func(tb testing.TB) SecretStores) {
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open(t).Secrets) })
	t.Run("Parameters", func(t *testing.T) { testParameters(t, open(t).Parameters) })
	t.Run("SecretRaces", func(t *testing.T) { testSecretRaces(t, open(t).Secrets) })
}

func testSecret(scope openrunner.Scope, name string) *openrunner.Secret {
	now := time.Unix(1700000000, 0).UTC()
	return &openrunner.Secret{
		ARN:  fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", scope.Region, scope.AccountID, name),
		Name: name, CreatedAt: now, ChangedAt: now,
		Versions: []openrunner.SecretVersion{{ID: "v1", Stages: []string{openrunner.StageCurrent}, CreatedAt: now, Sealed: []byte{1, 2, 3}}},
	}
}

func testSecrets(t *testing.T, s openrunner.SecretService) {
	a, b := Ctx(ScopeA), Ctx(ScopeB)
	sec := testSecret(ScopeA, "db")
	if err := s.CreateSecret(a, sec); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrConflict", func(t *testing.T) {
		dup := testSecret(ScopeA, "db")
		dup.ARN += "x"
		wantCode(t, s.CreateSecret(a, dup), openrunner.ECONFLICT)
	})
	t.Run("FindByNameAndARN", func(t *testing.T) {
		for _, id := range []string{"db", sec.ARN} {
			got, err := s.FindSecret(a, id)
			if err != nil {
				t.Fatal(id, err)
			}
			if got.ARN != sec.ARN || len(got.Versions) != 1 || !bytes.Equal(got.Versions[0].Sealed, []byte{1, 2, 3}) {
				t.Fatalf("FindSecret(%s) = %+v", id, got)
			}
		}
	})
	t.Run("OtherScopeSeesNothing", func(t *testing.T) {
		_, err := s.FindSecret(b, sec.ARN)
		wantCode(t, err, openrunner.ENOTFOUND)
		list, err := s.FindSecrets(b)
		if err != nil || len(list) != 0 {
			t.Fatalf("FindSecrets(B) = %v, %v", list, err)
		}
		wantCode(t, s.DeleteSecret(b, "db"), openrunner.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		got, err := s.UpdateSecret(a, "db", func(x *openrunner.Secret) error {
			x.Description = "d"
			x.Name = "renamed" // ignored: names never change
			return nil
		})
		if err != nil || got.Description != "d" || got.Name != "db" {
			t.Fatalf("UpdateSecret = %+v, %v", got, err)
		}
		boom := errors.New("boom")
		if _, err := s.UpdateSecret(a, "db", func(x *openrunner.Secret) error { x.Description = "lost"; return boom }); !errors.Is(err, boom) {
			t.Fatalf("UpdateSecret error = %v, want fn's", err)
		}
		if got, _ := s.FindSecret(a, "db"); got.Description != "d" {
			t.Fatalf("a failed update wrote %q", got.Description)
		}
		_, err = s.UpdateSecret(a, "nope", func(*openrunner.Secret) error { return nil })
		wantCode(t, err, openrunner.ENOTFOUND)
	})
	t.Run("ListAndDelete", func(t *testing.T) {
		if err := s.CreateSecret(a, testSecret(ScopeA, "api-key")); err != nil {
			t.Fatal(err)
		}
		list, err := s.FindSecrets(a)
		if err != nil || len(list) != 2 || list[0].Name != "api-key" || list[1].Name != "db" {
			t.Fatalf("FindSecrets = %v, %v", list, err)
		}
		if err := s.DeleteSecret(a, "api-key"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteSecret(a, "api-key"), openrunner.ENOTFOUND)
		// The name is free again.
		if err := s.CreateSecret(a, testSecret(ScopeA, "api-key")); err != nil {
			t.Fatal(err)
		}
	})
}

func testParameters(t *testing.T, s openrunner.ParameterService) {
	a, b := Ctx(ScopeA), Ctx(ScopeB)
	put := func(name string, version int64) func(*openrunner.Parameter) (*openrunner.Parameter, error) {
		return func(old *openrunner.Parameter) (*openrunner.Parameter, error) {
			p := old
			if p == nil {
				p = &openrunner.Parameter{Type: openrunner.ParameterSecureString}
			}
			p.History = append(p.History, openrunner.ParameterVersion{Version: version, Sealed: []byte{byte(version)}})
			return p, nil
		}
	}
	for _, name := range []string{"/app/db/password", "/app/db/user", "/app_x", "/other"} {
		if _, err := s.PutParameter(a, name, put(name, 1)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("NewVersion", func(t *testing.T) {
		p, err := s.PutParameter(a, "/app/db/password", put("", 2))
		if err != nil || len(p.History) != 2 || p.Current().Version != 2 {
			t.Fatalf("PutParameter = %+v, %v", p, err)
		}
		got, err := s.FindParameter(a, "/app/db/password")
		if err != nil || got.Current().Version != 2 || got.Name != "/app/db/password" {
			t.Fatalf("FindParameter = %+v, %v", got, err)
		}
	})
	t.Run("FailedPutWritesNothing", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := s.PutParameter(a, "/new", func(*openrunner.Parameter) (*openrunner.Parameter, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("PutParameter error = %v, want fn's", err)
		}
		_, err := s.FindParameter(a, "/new")
		wantCode(t, err, openrunner.ENOTFOUND)
	})
	t.Run("Prefix", func(t *testing.T) {
		list, err := s.FindParameters(a, "/app/")
		if err != nil || len(list) != 2 || list[0].Name != "/app/db/password" || list[1].Name != "/app/db/user" {
			t.Fatalf("FindParameters(/app/) = %v, %v", list, err)
		}
		all, err := s.FindParameters(a, "")
		if err != nil || len(all) != 4 {
			t.Fatalf("FindParameters() = %d, %v", len(all), err)
		}
	})
	t.Run("OtherScopeSeesNothing", func(t *testing.T) {
		_, err := s.FindParameter(b, "/other")
		wantCode(t, err, openrunner.ENOTFOUND)
		wantCode(t, s.DeleteParameter(b, "/other"), openrunner.ENOTFOUND)
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.DeleteParameter(a, "/other"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteParameter(a, "/other"), openrunner.ENOTFOUND)
	})
}
