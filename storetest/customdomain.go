package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
)

// DomainStores are the store interfaces of custom domains and their
// certificates, on a fresh empty database.
type DomainStores struct {
	Domains openrunner.CustomDomainService
	Blobs   openrunner.BlobService
}

// CustomDomains runs the conformance cases of CustomDomainService and
// BlobService; open returns a fresh store each call.
func CustomDomains(t *testing.T, open func(tb testing.TB) DomainStores) {
	ctx := context.Background()
	const svcA, svcB = "arn:aws:apprunner:us-east-1:111111111111:service/a/1", "arn:aws:apprunner:us-east-1:111111111111:service/b/2"
	assoc := func(tb testing.TB, s DomainStores, svc, name string, www bool, max int) error {
		tb.Helper()
		return s.Domains.AssociateCustomDomain(ctx, &openrunner.CustomDomain{ServiceARN: svc, Name: name, WWW: www}, max)
	}

	t.Run("AssociateFindUpdateDelete", func(t *testing.T) {
		s := open(t)
		d := &openrunner.CustomDomain{ServiceARN: svcA, Name: "example.com", WWW: true}
		if err := s.Domains.AssociateCustomDomain(ctx, d, 5); err != nil {
			t.Fatal(err)
		}
		if d.Status != openrunner.DomainCreating || d.Seq == 0 || d.CreatedAt.IsZero() {
			t.Fatalf("associated %+v", d)
		}
		rec := openrunner.ValidationRecord{Name: "example.com.", Type: "CNAME", Value: "x.example.net.", Status: openrunner.RecordPendingValidation}
		got, err := s.Domains.UpdateCustomDomain(ctx, svcA, "example.com", func(d *openrunner.CustomDomain) error {
			d.Status, d.Records, d.Reason = openrunner.DomainPendingCertificateDNSValidation, []openrunner.ValidationRecord{rec}, "waiting"
			return nil
		})
		if err != nil || got.Status != openrunner.DomainPendingCertificateDNSValidation {
			t.Fatalf("update = %+v, %v", got, err)
		}
		got, err = s.Domains.FindCustomDomain(ctx, svcA, "example.com")
		if err != nil || !got.WWW || got.Reason != "waiting" || len(got.Records) != 1 || got.Records[0] != rec || !got.CreatedAt.Equal(d.CreatedAt) {
			t.Fatalf("find = %+v, %v", got, err)
		}
		_, err = s.Domains.UpdateCustomDomain(ctx, svcA, "example.com", func(d *openrunner.CustomDomain) error {
			d.Status = "changed"
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "no")
		})
		wantCode(t, err, openrunner.EINVALIDSTATE)
		if got, _ := s.Domains.FindCustomDomain(ctx, svcA, "example.com"); got.Status != openrunner.DomainPendingCertificateDNSValidation {
			t.Fatalf("an aborted update wrote %q", got.Status)
		}
		if err := s.Domains.DeleteCustomDomain(ctx, svcA, "example.com"); err != nil {
			t.Fatal(err)
		}
		_, err = s.Domains.FindCustomDomain(ctx, svcA, "example.com")
		wantCode(t, err, openrunner.ENOTFOUND)
		wantCode(t, s.Domains.DeleteCustomDomain(ctx, svcA, "example.com"), openrunner.ENOTFOUND)
		_, err = s.Domains.UpdateCustomDomain(ctx, svcA, "example.com", func(*openrunner.CustomDomain) error { return nil })
		wantCode(t, err, openrunner.ENOTFOUND)
	})

	t.Run("HostsBelongToOneDomain", func(t *testing.T) {
		s := open(t)
		if err := assoc(t, s, svcA, "example.com", true, 5); err != nil {
			t.Fatal(err)
		}
		wantCode(t, assoc(t, s, svcA, "example.com", false, 5), openrunner.ECONFLICT)
		wantCode(t, assoc(t, s, svcB, "example.com", false, 5), openrunner.ECONFLICT)
		wantCode(t, assoc(t, s, svcB, "www.example.com", false, 5), openrunner.ECONFLICT)
		if err := assoc(t, s, svcB, "api.example.com", true, 5); err != nil {
			t.Fatal(err)
		}
		if err := assoc(t, s, svcB, "other.org", false, 5); err != nil {
			t.Fatal(err)
		}
		// other.org has no www, so www.other.org is free; it then claims nothing of other.org.
		if err := assoc(t, s, svcA, "www.other.org", false, 5); err != nil {
			t.Fatal(err)
		}
		wantCode(t, assoc(t, s, svcA, "site.net", true, 5), "")
		wantCode(t, assoc(t, s, svcB, "www.site.net", false, 5), openrunner.ECONFLICT)
	})

	t.Run("MaxPerService", func(t *testing.T) {
		s := open(t)
		for _, n := range []string{"a.example", "b.example"} {
			if err := assoc(t, s, svcA, n, false, 2); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, assoc(t, s, svcA, "c.example", false, 2), openrunner.EQUOTA)
		if err := assoc(t, s, svcB, "c.example", false, 2); err != nil {
			t.Fatal(err)
		}
		if err := assoc(t, s, svcA, "c2.example", false, 3); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ConcurrentAssociateOneName", func(t *testing.T) {
		s := open(t)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = assoc(t, s, []string{svcA, svcB}[i%2], "race.example", i%3 == 0, 5) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if openrunner.ErrorCode(err) != openrunner.ECONFLICT {
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d associations succeeded, want 1", ok)
		}
	})

	t.Run("Pages", func(t *testing.T) {
		s := open(t)
		names := []string{"a.example", "b.example", "c.example", "d.example", "e.example"}
		for _, n := range names {
			if err := assoc(t, s, svcA, n, false, 5); err != nil {
				t.Fatal(err)
			}
		}
		if err := assoc(t, s, svcB, "z.example", false, 5); err != nil {
			t.Fatal(err)
		}
		var got []string
		var after int64
		for {
			page, err := s.Domains.FindCustomDomains(ctx, svcA, openrunner.CustomDomainFilter{After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Domains {
				got = append(got, d.Name)
			}
			if page.Next == 0 {
				break
			}
			after = page.Next
		}
		if !slices.Equal(got, names) {
			t.Fatalf("pages = %v, want %v", got, names)
		}
		all, err := s.Domains.AllCustomDomains(ctx)
		if err != nil || len(all) != 6 || all[5].Name != "z.example" {
			t.Fatalf("all = %d, %v", len(all), err)
		}
	})

	t.Run("Blobs", func(t *testing.T) { testBlobs(t, open(t).Blobs) })
}

func testBlobs(t *testing.T, b openrunner.BlobService) {
	ctx := context.Background()
	for _, k := range []string{"certs/ca/a.com/a.com.crt", "certs/ca/a.com/a.com.key", "certs/ca/b.com/b.com.crt", "certs/ca0", "acme/x"} {
		if err := b.PutBlob(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PutBlob(ctx, "acme/x", []byte("new")); err != nil {
		t.Fatal(err)
	}
	v, at, err := b.FindBlob(ctx, "acme/x")
	if err != nil || string(v) != "new" || at.IsZero() {
		t.Fatalf("FindBlob = %q, %v, %v", v, at, err)
	}
	_, _, err = b.FindBlob(ctx, "certs/ca")
	wantCode(t, err, openrunner.ENOTFOUND)

	keys, err := b.ListBlobs(ctx, "certs/ca", false)
	if err != nil || !slices.Equal(keys, []string{"certs/ca/a.com", "certs/ca/b.com"}) {
		t.Fatalf("ListBlobs(certs/ca) = %v, %v", keys, err)
	}
	keys, err = b.ListBlobs(ctx, "certs", true)
	if err != nil || len(keys) != 4 {
		t.Fatalf("ListBlobs(certs, recursive) = %v, %v", keys, err)
	}
	for k, want := range map[string][2]bool{"certs/ca": {true, true}, "certs/ca0": {true, false}, "certs/c": {false, false}} {
		if e, d, err := b.FindBlobKey(ctx, k); err != nil || [2]bool{e, d} != want {
			t.Fatalf("FindBlobKey(%s) = %v, %v, %v; want %v", k, e, d, err, want)
		}
	}
	if err := b.DeleteBlobs(ctx, "certs/ca/a.com"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, b.DeleteBlobs(ctx, "certs/ca/a.com"), openrunner.ENOTFOUND)
	if keys, _ := b.ListBlobs(ctx, "", true); !slices.Equal(keys, []string{"acme/x", "certs/ca/b.com/b.com.crt", "certs/ca0"}) {
		t.Fatalf("left %v", keys)
	}
}
