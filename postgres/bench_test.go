package postgres_test

import (
	"fmt"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/postgres"
	"github.com/openrunner/openrunner/storetest"
)

// BenchmarkFindConnections lists ten connections from all cores at once:
// the store's share of a signed ListConnections (bench/api.sh).
func BenchmarkFindConnections(b *testing.B) {
	db := mustOpenDB(b, openrunner.DefaultQuotas(), nil)
	db.MaxConns = 0
	s := postgres.NewConnectionService(db)
	ctx := storetest.Ctx(storetest.ScopeA)
	for i := range 10 {
		if err := s.CreateConnection(ctx, &openrunner.Connection{Name: fmt.Sprint("c", i), ProviderType: openrunner.ProviderGitHub}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			page, err := s.FindConnections(ctx, openrunner.ConnectionFilter{Limit: 100})
			if err != nil || len(page.Connections) != 10 {
				b.Error(len(page.Connections), err)
				return
			}
		}
	})
}
