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

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

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
	if !strings.HasPrefix(parts[1], "aws") || !regionRE.MatchString(parts[3]) || !accountRE.MatchString(parts[4]) {
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
