package sqlite_test

import (
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/storetest"
)

func TestCustomDomainConformance(t *testing.T) {
	storetest.CustomDomains(t, func(tb testing.TB) storetest.DomainStores {
		db := MustOpenDB(tb, openrunner.DefaultQuotas())
		return storetest.DomainStores{Domains: sqlite.NewCustomDomainService(db), Blobs: sqlite.NewBlobService(db)}
	})
}
