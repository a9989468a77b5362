package customdomain_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/customdomain"
	"github.com/openrunner/openrunner/localca"
	"github.com/openrunner/openrunner/sqlite"
)

var scope = openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"}

type env struct {
	domains  *sqlite.CustomDomainService
	services *sqlite.ServiceService
	c        *customdomain.Controller
	mu       sync.Mutex
	routed   []string
}

// newEnv opens a store and a local CA; start runs a controller on them.
func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	db := sqlite.NewDB(filepath.Join(dir, "openrunner.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{domains: sqlite.NewCustomDomainService(db), services: sqlite.NewServiceService(db)}
}

func (e *env) start(t *testing.T, configure ...func(*customdomain.Controller)) {
	t.Helper()
	ca, err := localca.Open(localca.Options{Dir: filepath.Join(t.TempDir(), "ca")})
	if err != nil {
		t.Fatal(err)
	}
	e.c = &customdomain.Controller{Domains: e.domains, Services: e.services, Certs: customdomain.LocalCA{CA: ca},
		Interval: 20 * time.Millisecond,
		Routes: func(arn string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.routed = append(e.routed, arn)
		}}
	for _, f := range configure {
		f(e.c)
	}
	if err := e.c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.c.Close() })
}

func (e *env) service(t *testing.T, name string) *openrunner.Service {
	t.Helper()
	svc := &openrunner.Service{Name: name, Desired: openrunner.DesiredState{MinSize: 1, MaxSize: 1, Instances: 1}}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &svc.Config}
	if err := e.services.CreateService(openrunner.NewContextWithScope(context.Background(), scope), svc, op, nil); err != nil {
		t.Fatal(err)
	}
	return svc
}

// put stores a domain as a server killed at status would have left it.
func (e *env) put(t *testing.T, arn, name string, www bool, status string) {
	t.Helper()
	ctx := context.Background()
	if err := e.domains.AssociateCustomDomain(ctx, &openrunner.CustomDomain{ServiceARN: arn, Name: name, WWW: www,
		Records: []openrunner.ValidationRecord{{Name: name + ".", Type: "CNAME", Value: "x.example.", Status: openrunner.RecordPendingValidation}}}, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := e.domains.UpdateCustomDomain(ctx, arn, name, func(d *openrunner.CustomDomain) error {
		d.Status = status
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) status(arn, name string) string {
	d, err := e.domains.FindCustomDomain(context.Background(), arn, name)
	if err != nil {
		return openrunner.ErrorCode(err)
	}
	return d.Status
}

// A server killed between any two steps leaves domains that the next one
// takes to the end: each status goes on from where it is.
func TestConvergesFromEveryStatus(t *testing.T) {
	e := newEnv(t)
	svc := e.service(t, "web")
	arn := svc.ARN()
	for name, st := range map[string]string{
		"creating.example": openrunner.DomainCreating, "pending.example": openrunner.DomainPendingCertificateDNSValidation,
		"binding.example": openrunner.DomainBindingCertificate, "active.example": openrunner.DomainActive,
		"deleting.example": openrunner.DomainDeleting,
	} {
		e.put(t, arn, name, name == "binding.example", st)
	}
	e.put(t, "arn:aws:apprunner:us-east-1:111111111111:service/gone/0123456789abcdef0123456789abcdef", "orphan.example", false, openrunner.DomainActive)
	e.start(t)

	e.wait(t, "every domain is active or gone", func() bool {
		for _, n := range []string{"creating.example", "pending.example", "binding.example", "active.example"} {
			if e.status(arn, n) != openrunner.DomainActive {
				return false
			}
		}
		return e.status(arn, "deleting.example") == openrunner.ENOTFOUND
	})
	d, _ := e.domains.FindCustomDomain(context.Background(), arn, "pending.example")
	if d.Records[0].Status != openrunner.RecordSuccess || d.Reason != "" {
		t.Fatalf("active domain %+v", d)
	}
	e.wait(t, "the domain of an unknown service is removed", func() bool {
		all, _ := e.domains.AllCustomDomains(context.Background())
		return !slices.ContainsFunc(all, func(d *openrunner.CustomDomain) bool { return d.Name == "orphan.example" })
	})
	e.wait(t, "the service's hosts are all routed", func() bool {
		hosts := e.c.Hosts(arn)
		slices.Sort(hosts)
		return slices.Equal(hosts, []string{"active.example", "binding.example", "creating.example", "pending.example", "www.binding.example"})
	})
	e.mu.Lock()
	routed := slices.Contains(e.routed, arn)
	e.mu.Unlock()
	if !routed {
		t.Fatal("the reconciler was not told the service's hosts changed")
	}

	// Handshakes: hosts of active domains get their certificate, others
	// nil (the router's own certificates).
	for host, want := range map[string]bool{"www.binding.example": true, "active.example": true, "deleting.example": false, "other.example": false} {
		cert, err := e.c.GetCertificate(&tls.ClientHelloInfo{ServerName: host})
		if err != nil || (cert != nil) != want {
			t.Fatalf("GetCertificate(%s) = %v, %v; want a certificate: %v", host, cert != nil, err, want)
		}
		if want && cert.Leaf.VerifyHostname(host) != nil {
			t.Fatalf("certificate for %s names %v", host, cert.Leaf.DNSNames)
		}
	}
}

func TestWildcardCertificate(t *testing.T) {
	e := newEnv(t)
	arn := e.service(t, "wild").ARN()
	e.put(t, arn, "*.apps.example", false, openrunner.DomainCreating)
	e.start(t)
	e.wait(t, "the wildcard is active", func() bool { return e.status(arn, "*.apps.example") == openrunner.DomainActive })
	e.wait(t, "its certificate is served", func() bool {
		cert, _ := e.c.GetCertificate(&tls.ClientHelloInfo{ServerName: "api.apps.example"})
		return cert != nil
	})
	if cert, _ := e.c.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.b.apps.example"}); cert != nil {
		t.Fatal("a wildcard covers one label only")
	}
}

// A domain turns ACTIVE only once the router serves its hosts: until the
// reconciler has routed them it stays BINDING_CERTIFICATE, its hosts
// already handed to the route.
func TestActiveOnceRouted(t *testing.T) {
	e := newEnv(t)
	arn := e.service(t, "web").ARN()
	e.put(t, arn, "late.example", false, openrunner.DomainCreating)
	var mu sync.Mutex
	serving := map[string]bool{}
	e.start(t, func(c *customdomain.Controller) {
		c.Routed = func(h string) bool {
			mu.Lock()
			defer mu.Unlock()
			return serving[h]
		}
	})
	e.wait(t, "the host is handed to the route", func() bool { return slices.Contains(e.c.Hosts(arn), "late.example") })
	time.Sleep(100 * time.Millisecond)
	if st := e.status(arn, "late.example"); st != openrunner.DomainBindingCertificate {
		t.Fatalf("status %s before the router serves the host, want %s", st, openrunner.DomainBindingCertificate)
	}
	mu.Lock()
	serving["late.example"] = true
	mu.Unlock()
	e.wait(t, "the domain is active", func() bool { return e.status(arn, "late.example") == openrunner.DomainActive })
	if !slices.Contains(e.c.Hosts(arn), "late.example") {
		t.Fatal("an active domain's host left the route")
	}
}
