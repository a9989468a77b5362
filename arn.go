package openrunner

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
)

// Resource types that appear in App Runner ARNs.
const (
	ResourceConnection               = "connection"
	ResourceService                  = "service"
	ResourceAutoScalingConfiguration = "autoscalingconfiguration"
	ResourceObservabilityConfig      = "observabilityconfiguration"
	ResourceVpcConnector             = "vpcconnector"
	ResourceVpcIngressConnection     = "vpcingressconnection"
)

// ARN is a parsed App Runner ARN:
// arn:<partition>:apprunner:<region>:<account>:<type>/<path...>.
type ARN struct {
	Partition string
	Region    string
	AccountID string
	Type      string   // e.g. "connection"
	Path      []string // the parts after the type, e.g. [name, id]
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// ValidRegion reports whether r can name a Region: 1 to 63 lower-case
// letters, digits and dashes. AWS's own names (us-east-1) qualify, and so
// do the names local set-ups like (local, dev-1). SigV4 verification and
// ParseARN share this rule, so every Region a caller can act in yields ARNs
// that parse.
func ValidRegion(r string) bool {
	if len(r) == 0 || len(r) > 63 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ParseARN parses an App Runner ARN. It returns EINVALID, with a message
// that quotes the ARN, when s is not one.
func ParseARN(s string) (ARN, error) {
	bad := func() (ARN, error) {
		return ARN{}, Errorf(EINVALID, "The ARN you specified isn't a valid App Runner ARN. ARN: '%s'", Truncate(s, 200))
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "apprunner" {
		return bad()
	}
	if !strings.HasPrefix(parts[1], "aws") || !ValidRegion(parts[3]) || !accountRE.MatchString(parts[4]) {
		return bad()
	}
	res := strings.Split(parts[5], "/")
	if len(res) < 2 || res[0] == "" {
		return bad()
	}
	for _, p := range res[1:] {
		if p == "" {
			return bad()
		}
	}
	return ARN{Partition: parts[1], Region: parts[3], AccountID: parts[4], Type: res[0], Path: res[1:]}, nil
}

// String formats a.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":apprunner:" + a.Region + ":" + a.AccountID + ":" + a.Type + "/" + strings.Join(a.Path, "/")
}

// Scope returns the account and Region a belongs to.
func (a ARN) Scope() Scope { return Scope{AccountID: a.AccountID, Region: a.Region} }

// NewARN builds an ARN in the standard partition.
func NewARN(s Scope, typ string, path ...string) string {
	return ARN{Partition: "aws", Region: s.Region, AccountID: s.AccountID, Type: typ, Path: path}.String()
}

// NewID returns a resource id as App Runner makes them: a random (version 4)
// UUID written as 32 lowercase hex digits without dashes.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID in its dashed 36-character form,
// the form App Runner uses for operation ids and request ids.
func NewUUID() string {
	id := NewID()
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

// Truncate shortens s to at most n bytes, marking the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
