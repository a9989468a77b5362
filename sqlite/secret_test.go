package sqlite_test

import (
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/storetest"
)

func TestSecretConformance(t *testing.T) {
	storetest.Secrets(t, func(tb testing.TB) storetest.SecretStores {
		db := MustOpenDB(tb, openrunner.Quotas{})
		return storetest.SecretStores{Secrets: sqlite.NewSecretService(db), Parameters: sqlite.NewParameterService(db)}
	})
}
