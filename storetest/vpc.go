package storetest

import (
	"context"
	"testing"

	"github.com/openrunner/openrunner"
)

func mustCreateConnector(tb testing.TB, s Stores, scope openrunner.Scope, name string, subnets ...string) *openrunner.VpcConnector {
	tb.Helper()
	c := &openrunner.VpcConnector{Name: name, Subnets: subnets, SecurityGroups: []string{"sg-1"}}
	if err := s.VPC.CreateVpcConnector(Ctx(scope), c, []openrunner.Tag{{Key: "team", Value: "db"}}); err != nil {
		tb.Fatalf("CreateVpcConnector(%s): %v", name, err)
	}
	return c
}

func mustCreateIngress(tb testing.TB, s Stores, scope openrunner.Scope, name, serviceARN string) *openrunner.VpcIngressConnection {
	tb.Helper()
	c := &openrunner.VpcIngressConnection{Name: name, ServiceARN: serviceARN, VpcID: "vpc-1", VpcEndpointID: "vpce-1", DomainName: name + ".example"}
	if err := s.VPC.CreateVpcIngressConnection(Ctx(scope), c, nil); err != nil {
		tb.Fatalf("CreateVpcIngressConnection(%s): %v", name, err)
	}
	return c
}

func connectorNames(tb testing.TB, s Stores, scope openrunner.Scope, f openrunner.VpcConnectorFilter) ([]string, int64) {
	tb.Helper()
	page, err := s.VPC.FindVpcConnectors(Ctx(scope), f)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, c := range page.Connectors {
		names = append(names, c.Name)
	}
	return names, page.Next
}

func setStatus(status string) func(*openrunner.VpcIngressConnection) error {
	return func(c *openrunner.VpcIngressConnection) error { c.Status = status; return nil }
}

// VPC runs the conformance suite of openrunner.VPCService; open must set
// Stores.VPC and Stores.Services.
func VPC(t *testing.T, open Opener) {
	t.Run("Connectors", func(t *testing.T) { testVpcConnectors(t, open) })
	t.Run("IngressConnections", func(t *testing.T) { testIngress(t, open) })
}

func testVpcConnectors(t *testing.T, open Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreateConnector(t, s, ScopeA, "db-net", "subnet-a", "subnet-b")
		if len(c.ID) != 32 || c.Revision != 1 || c.Status != openrunner.VpcConnectorActive || c.CreatedAt.IsZero() {
			t.Fatalf("created %+v", c)
		}
		got, err := s.VPC.FindVpcConnector(Ctx(ScopeA), c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "found", got, c)
		if _, err := s.VPC.FindVpcConnector(Ctx(ScopeB), c.ARN()); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			t.Fatalf("another account's connector: %v", err)
		}
		wantCode(t, s.VPC.CreateVpcConnector(Ctx(ScopeA), &openrunner.VpcConnector{Name: "db-net", Subnets: []string{"x"}}, nil), openrunner.ECONFLICT)
		if tags, _ := s.Tags.ListTags(Ctx(ScopeA), c.ARN()); len(tags) != 1 {
			t.Fatalf("tags = %v", tags)
		}

		del, err := s.VPC.DeleteVpcConnector(Ctx(ScopeA), c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		if del.Status != openrunner.VpcConnectorInactive || del.DeletedAt.IsZero() {
			t.Fatalf("deleted %+v", del)
		}
		got, err = s.VPC.FindVpcConnector(Ctx(ScopeA), c.ARN())
		if err != nil || got.Status != openrunner.VpcConnectorInactive {
			t.Fatalf("after delete: %+v, %v", got, err)
		}
		_, err = s.VPC.DeleteVpcConnector(Ctx(ScopeA), c.ARN())
		wantCode(t, err, openrunner.EINVALID)
		if names, _ := connectorNames(t, s, ScopeA, openrunner.VpcConnectorFilter{}); len(names) != 0 {
			t.Fatalf("listed after delete: %v", names)
		}
		// The name is free again.
		mustCreateConnector(t, s, ScopeA, "db-net", "subnet-a")
	})
	t.Run("QuotaAndPages", func(t *testing.T) {
		q := openrunner.DefaultQuotas()
		q.VpcConnectors = 3
		s := open(t, q)
		for _, n := range []string{"one1", "two2", "three"} {
			mustCreateConnector(t, s, ScopeA, n, "subnet-1")
		}
		wantCode(t, s.VPC.CreateVpcConnector(Ctx(ScopeA), &openrunner.VpcConnector{Name: "four", Subnets: []string{"s"}}, nil), openrunner.EQUOTA)
		mustCreateConnector(t, s, ScopeB, "four", "subnet-1")
		names, next := connectorNames(t, s, ScopeA, openrunner.VpcConnectorFilter{Limit: 2})
		wantEqual(t, "page 1", names, []string{"one1", "two2"})
		names, next = connectorNames(t, s, ScopeA, openrunner.VpcConnectorFilter{Limit: 2, After: next})
		wantEqual(t, "page 2", names, []string{"three"})
		if next != 0 {
			t.Fatalf("next after the last page = %d", next)
		}
	})
	t.Run("InUse", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreateConnector(t, s, ScopeA, "used", "subnet-1")
		cfg := imageConfig()
		cfg.Network = openrunner.NetworkConfig{EgressType: "VPC", VpcConnectorARN: c.ARN(), IsPubliclyAccessible: true, IPAddressType: "IPV4"}
		svc := &openrunner.Service{Name: "svc", Config: cfg}
		if err := s.Services.CreateService(Ctx(ScopeA), svc, &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}, nil); err != nil {
			t.Fatal(err)
		}
		_, err := s.VPC.DeleteVpcConnector(Ctx(ScopeA), c.ARN())
		wantCode(t, err, openrunner.EINVALID)
		mustDeleteService(t, s, mustFindService(t, s, ScopeA, svc.ARN()))
		if _, err := s.VPC.DeleteVpcConnector(Ctx(ScopeA), c.ARN()); err != nil {
			t.Fatalf("delete once the service is DELETED: %v", err)
		}
	})
}

func testIngress(t *testing.T, open Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, _ := mustCreateService(t, s, ScopeA, "private")
		other, _ := mustCreateService(t, s, ScopeA, "other")
		c := mustCreateIngress(t, s, ScopeA, "ing1", svc.ARN())
		if c.Status != openrunner.IngressPendingCreation || len(c.ID) != 32 {
			t.Fatalf("created %+v", c)
		}
		got, err := s.VPC.FindVpcIngressConnection(Ctx(ScopeA), c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "found", got, c)
		if _, err := s.VPC.FindVpcIngressConnection(Ctx(ScopeB), c.ARN()); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			t.Fatalf("another account's connection: %v", err)
		}
		// One per service, names unique, the service must exist.
		wantCode(t, s.VPC.CreateVpcIngressConnection(Ctx(ScopeA), &openrunner.VpcIngressConnection{Name: "ing2", ServiceARN: svc.ARN()}, nil), openrunner.EINVALID)
		wantCode(t, s.VPC.CreateVpcIngressConnection(Ctx(ScopeA), &openrunner.VpcIngressConnection{Name: "ing1", ServiceARN: other.ARN()}, nil), openrunner.ECONFLICT)
		wantCode(t, s.VPC.CreateVpcIngressConnection(Ctx(ScopeB), &openrunner.VpcIngressConnection{Name: "ing3", ServiceARN: other.ARN()}, nil), openrunner.EINVALID)

		// Status changes from outside any request (the controller).
		bg := context.Background()
		if _, err := s.VPC.UpdateVpcIngressConnection(bg, c.ARN(), setStatus(openrunner.IngressAvailable)); err != nil {
			t.Fatal(err)
		}
		avail, err := s.VPC.FindVpcIngressConnectionsByStatus(bg, openrunner.IngressAvailable)
		if err != nil || len(avail) != 1 || avail[0].ARN() != c.ARN() {
			t.Fatalf("available = %v, %v", avail, err)
		}
		forSvc, err := s.VPC.FindVpcIngressConnectionForService(bg, svc.ARN())
		if err != nil || forSvc.ARN() != c.ARN() {
			t.Fatalf("for service = %+v, %v", forSvc, err)
		}
		// apply's error stores nothing.
		_, err = s.VPC.UpdateVpcIngressConnection(bg, c.ARN(), func(c *openrunner.VpcIngressConnection) error {
			c.Status = openrunner.IngressFailedUpdate
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "no")
		})
		wantCode(t, err, openrunner.EINVALIDSTATE)
		if got, _ := s.VPC.FindVpcIngressConnection(Ctx(ScopeA), c.ARN()); got.Status != openrunner.IngressAvailable {
			t.Fatalf("status after a refused update = %s", got.Status)
		}

		del, err := s.VPC.UpdateVpcIngressConnection(bg, c.ARN(), setStatus(openrunner.IngressDeleted))
		if err != nil || del.DeletedAt.IsZero() {
			t.Fatalf("deleted %+v, %v", del, err)
		}
		if got, err := s.VPC.FindVpcIngressConnection(Ctx(ScopeA), c.ARN()); err != nil || got.Status != openrunner.IngressDeleted {
			t.Fatalf("describe after delete: %+v, %v", got, err)
		}
		if _, err := s.VPC.FindVpcIngressConnectionForService(bg, svc.ARN()); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			t.Fatalf("for service after delete: %v", err)
		}
		_, err = s.VPC.UpdateVpcIngressConnection(bg, c.ARN(), setStatus(openrunner.IngressAvailable))
		wantCode(t, err, openrunner.EINVALIDSTATE)
		// The service may have a new one, under the old name.
		mustCreateIngress(t, s, ScopeA, "ing1", svc.ARN())
	})
	t.Run("FilterAndPages", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		var arns []string
		for _, n := range []string{"aaaa", "bbbb", "cccc"} {
			svc, _ := mustCreateService(t, s, ScopeA, n)
			arns = append(arns, mustCreateIngress(t, s, ScopeA, n, svc.ARN()).ARN())
		}
		page, err := s.VPC.FindVpcIngressConnections(Ctx(ScopeA), openrunner.VpcIngressConnectionFilter{Limit: 2})
		if err != nil || len(page.Connections) != 2 || page.Next == 0 {
			t.Fatalf("page 1: %+v, %v", page, err)
		}
		page, err = s.VPC.FindVpcIngressConnections(Ctx(ScopeA), openrunner.VpcIngressConnectionFilter{Limit: 2, After: page.Next})
		if err != nil || len(page.Connections) != 1 || page.Next != 0 || page.Connections[0].ARN() != arns[2] {
			t.Fatalf("page 2: %+v, %v", page, err)
		}
		svcARN := page.Connections[0].ServiceARN
		page, err = s.VPC.FindVpcIngressConnections(Ctx(ScopeA), openrunner.VpcIngressConnectionFilter{ServiceARN: &svcARN})
		if err != nil || len(page.Connections) != 1 || page.Connections[0].ARN() != arns[2] {
			t.Fatalf("by service: %+v, %v", page, err)
		}
		none := "vpce-other"
		page, err = s.VPC.FindVpcIngressConnections(Ctx(ScopeA), openrunner.VpcIngressConnectionFilter{VpcEndpointID: &none})
		if err != nil || len(page.Connections) != 0 {
			t.Fatalf("by unknown endpoint: %+v, %v", page, err)
		}
		if page, _ := s.VPC.FindVpcIngressConnections(Ctx(ScopeB), openrunner.VpcIngressConnectionFilter{}); len(page.Connections) != 0 {
			t.Fatalf("another account sees %d", len(page.Connections))
		}
	})
}
