package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
)

// race runs n calls of do at once and checks that want of them succeed and
// every other one fails with code: the store decides uniqueness and quotas
// itself, whatever the interleaving.
func race(tb testing.TB, n, want int, code string, do func(i int) error) {
	tb.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = do(i) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if openrunner.ErrorCode(err) != code {
			tb.Fatalf("error code = %q (%v), want %q", openrunner.ErrorCode(err), err, code)
		}
	}
	if ok != want {
		tb.Fatalf("%d of %d concurrent calls succeeded, want %d", ok, n, want)
	}
}

// testRaces checks the VPC and observability stores' uniqueness rules and
// quotas under concurrent calls.
func testRaces(t *testing.T, open Opener) {
	t.Run("VpcConnectorName", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		race(t, 8, 1, openrunner.ECONFLICT, func(int) error {
			return s.VPC.CreateVpcConnector(Ctx(ScopeA), &openrunner.VpcConnector{Name: "same", Subnets: []string{"subnet-a"}}, nil)
		})
	})
	t.Run("VpcConnectorQuota", func(t *testing.T) {
		q := openrunner.DefaultQuotas()
		q.VpcConnectors = 3
		s := open(t, q)
		race(t, 8, 3, openrunner.EQUOTA, func(i int) error {
			return s.VPC.CreateVpcConnector(Ctx(ScopeA), &openrunner.VpcConnector{Name: fmt.Sprint("c", i), Subnets: []string{"subnet-a"}}, nil)
		})
	})
	t.Run("IngressOnePerService", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, _ := mustCreateService(t, s, ScopeA, "private")
		race(t, 8, 1, openrunner.EINVALID, func(i int) error {
			c := &openrunner.VpcIngressConnection{Name: fmt.Sprint("i", i), ServiceARN: svc.ARN(), VpcID: "vpc-1", VpcEndpointID: "vpce-1",
				DomainName: fmt.Sprint("i", i, ".example")}
			return s.VPC.CreateVpcIngressConnection(Ctx(ScopeA), c, nil)
		})
	})
	t.Run("ObservabilityNamesQuota", func(t *testing.T) {
		q := openrunner.DefaultQuotas()
		q.ObservabilityNames = 2
		s := open(t, q)
		race(t, 6, 2, openrunner.EQUOTA, func(i int) error {
			c := &openrunner.ObservabilityConfiguration{Name: fmt.Sprint("o", i)}
			return s.Observability.CreateObservabilityConfiguration(Ctx(ScopeA), c, nil)
		})
	})
	t.Run("ObservabilityRevisions", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		revs := make([]int, 6)
		race(t, len(revs), len(revs), "", func(i int) error {
			c := &openrunner.ObservabilityConfiguration{Name: "same"}
			err := s.Observability.CreateObservabilityConfiguration(Ctx(ScopeA), c, nil)
			revs[i] = c.Revision
			return err
		})
		seen := map[int]bool{}
		for _, r := range revs {
			if r < 1 || r > len(revs) || seen[r] {
				t.Fatalf("revisions = %v, want 1 to %d once each", revs, len(revs))
			}
			seen[r] = true
		}
	})
}

// testSecretRaces checks that of concurrent creations of one secret name
// one succeeds.
func testSecretRaces(t *testing.T, s openrunner.SecretService) {
	race(t, 8, 1, openrunner.ECONFLICT, func(i int) error {
		sec := testSecret(ScopeA, "same")
		sec.ARN = fmt.Sprintf("%s-%d", sec.ARN, i) // a new ARN each: only the name is shared
		return s.CreateSecret(Ctx(ScopeA), sec)
	})
}
