package openrunner

import (
	"context"
	"strings"
	"time"
)

// Custom domain statuses (model enum CustomDomainAssociationStatus), lowercase
// on the wire as in App Runner.
const (
	DomainCreating                        = "creating"
	DomainCreateFailed                    = "create_failed"
	DomainActive                          = "active"
	DomainDeleting                        = "deleting"
	DomainDeleteFailed                    = "delete_failed"
	DomainPendingCertificateDNSValidation = "pending_certificate_dns_validation"
	DomainBindingCertificate              = "binding_certificate"
)

// Certificate validation record statuses (model enum
// CertificateValidationRecordStatus).
const (
	RecordPendingValidation = "PENDING_VALIDATION"
	RecordSuccess           = "SUCCESS"
	RecordFailed            = "FAILED"
)

// DefaultMaxCustomDomains is App Runner's limit of custom domains per
// service.
const DefaultMaxCustomDomains = 5

// CustomDomain is a domain name associated with a service: requests for it
// (and for its www subdomain, or for any name under a wildcard) go to the
// service once it is active.
type CustomDomain struct {
	ServiceARN string
	// Name is the domain, lowercase, without a trailing dot: a root
	// domain, a subdomain or a wildcard "*.example.com".
	Name string
	// WWW: www.<Name> is associated too (never for a wildcard).
	WWW    bool
	Status string
	// Records are the DNS records that make validation succeed; empty while
	// creating.
	Records []ValidationRecord
	// Reason says why the domain is create_failed or delete_failed, or why
	// its certificate is not issued yet; "" otherwise.
	Reason    string
	CreatedAt time.Time
	// Seq orders a service's domains by association; the store assigns it.
	Seq int64
}

// ValidationRecord is one CertificateValidationRecord: a DNS record the
// domain's owner creates.
type ValidationRecord struct {
	Name   string // ends with a dot
	Type   string // CNAME
	Value  string // ends with a dot
	Status string // RecordPendingValidation, RecordSuccess or RecordFailed
}

// Hosts returns the host names the domain serves: Name, and www.Name when
// WWW is set.
func (d *CustomDomain) Hosts() []string {
	if d.WWW && !d.Wildcard() {
		return []string{d.Name, "www." + d.Name}
	}
	return []string{d.Name}
}

// Wildcard reports whether the domain is a wildcard *.<domain>.
func (d *CustomDomain) Wildcard() bool { return strings.HasPrefix(d.Name, "*.") }

// CustomDomainFilter selects a service's domains for FindCustomDomains.
type CustomDomainFilter struct {
	// After continues a listing after the domain with this Seq; 0 starts
	// at the beginning.
	After int64
	// Limit is the most domains to return; 0 means all.
	Limit int
}

// CustomDomainPage is one page of FindCustomDomains.
type CustomDomainPage struct {
	Domains []*CustomDomain
	// Next is the After of the next page, or 0 when there are no more.
	Next int64
}

// CustomDomainService stores custom domains. Domains belong to a service,
// named by its ARN; callers check that the ARN is the caller's.
type CustomDomainService interface {
	// AssociateCustomDomain stores d (Status creating, CreatedAt and Seq
	// set by the store). Returns ECONFLICT if one of d's hosts is a host of
	// another domain, of any service, and EQUOTA if the service has max
	// domains already.
	AssociateCustomDomain(ctx context.Context, d *CustomDomain, max int) error

	// FindCustomDomains returns the service's domains in association order.
	FindCustomDomains(ctx context.Context, serviceARN string, f CustomDomainFilter) (CustomDomainPage, error)

	// FindCustomDomain returns the service's domain name. Returns ENOTFOUND
	// if there is none.
	FindCustomDomain(ctx context.Context, serviceARN, name string) (*CustomDomain, error)

	// AllCustomDomains returns every domain of every service, in
	// association order.
	AllCustomDomains(ctx context.Context) ([]*CustomDomain, error)

	// UpdateCustomDomain applies apply to the stored domain and stores the
	// result in one transaction; apply's error aborts it. Only Status,
	// Records and Reason change. Returns ENOTFOUND if there is none.
	UpdateCustomDomain(ctx context.Context, serviceARN, name string, apply func(*CustomDomain) error) (*CustomDomain, error)

	// DeleteCustomDomain removes the domain. Returns ENOTFOUND if there is
	// none.
	DeleteCustomDomain(ctx context.Context, serviceARN, name string) error
}

// BlobService is a store of named byte strings, shared by every server of
// one store: certmagic's certificates, keys and ACME account data live in
// it (package acme). Keys are paths separated by "/".
type BlobService interface {
	// PutBlob stores value under key, replacing what was there.
	PutBlob(ctx context.Context, key string, value []byte) error
	// FindBlob returns the value of key and when it was stored. Returns
	// ENOTFOUND if there is none.
	FindBlob(ctx context.Context, key string) ([]byte, time.Time, error)
	// DeleteBlobs removes key and every key under key + "/". Returns
	// ENOTFOUND if there was none.
	DeleteBlobs(ctx context.Context, key string) error
	// ListBlobs returns the keys under prefix + "/" (every one, or with
	// recursive false only the next path element of each), sorted.
	ListBlobs(ctx context.Context, prefix string, recursive bool) ([]string, error)
	// FindBlobKey reports whether key is stored, or is a prefix of stored
	// keys (a "directory").
	FindBlobKey(ctx context.Context, key string) (exists, dir bool, err error)
}
