package api

import (
	"context"
	"slices"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Bounds on a VPC connector's lists (AWS allows 16 subnets and 5 security
// groups per network interface; docs/decisions.md).
const (
	maxConnectorSubnets        = 16
	maxConnectorSecurityGroups = 5
)

// CreateVpcConnector implements wire.AppRunner.
func (s *Server) CreateVpcConnector(ctx context.Context, in *wire.CreateVpcConnectorInput) (*wire.CreateVpcConnectorOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.CreateVpcConnector(ctx, in)
	}
	if err := checkIDList("Subnets", in.Subnets, 1, maxConnectorSubnets); err != nil {
		return nil, err
	}
	if err := checkIDList("SecurityGroups", in.SecurityGroups, 0, maxConnectorSecurityGroups); err != nil {
		return nil, err
	}
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	c := &openrunner.VpcConnector{Name: *in.VpcConnectorName, Subnets: in.Subnets, SecurityGroups: in.SecurityGroups}
	if err := s.VPC.CreateVpcConnector(ctx, c, tags); err != nil {
		return nil, err
	}
	return &wire.CreateVpcConnectorOutput{VpcConnector: wireVpcConnector(c)}, nil
}

// checkIDList checks a list of subnet or security group ids: between min
// and max distinct, non-empty ids without white space.
func checkIDList(member string, ids []string, min, max int) error {
	switch {
	case len(ids) < min:
		return openrunner.Errorf(openrunner.EINVALID, "%s must list at least %d id.", member, min)
	case len(ids) > max:
		return openrunner.Errorf(openrunner.EINVALID, "%s may list at most %d ids; it lists %d.", member, max, len(ids))
	}
	for i, id := range ids {
		if id == "" || len(id) > 255 || containsSpace(id) {
			return openrunner.Errorf(openrunner.EINVALID, "%s: '%s' isn't a valid id.", member, openrunner.Truncate(id, 100))
		}
		if slices.Contains(ids[:i], id) {
			return openrunner.Errorf(openrunner.EINVALID, "%s lists '%s' twice.", member, id)
		}
	}
	return nil
}

func containsSpace(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return true
		}
	}
	return false
}

// DescribeVpcConnector implements wire.AppRunner.
func (s *Server) DescribeVpcConnector(ctx context.Context, in *wire.DescribeVpcConnectorInput) (*wire.DescribeVpcConnectorOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.DescribeVpcConnector(ctx, in)
	}
	if err := fullConnectorARN(ctx, *in.VpcConnectorArn); err != nil {
		return nil, err
	}
	c, err := s.VPC.FindVpcConnector(ctx, *in.VpcConnectorArn)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeVpcConnectorOutput{VpcConnector: wireVpcConnector(c)}, nil
}

// ListVpcConnectors implements wire.AppRunner: ACTIVE connectors, whole
// objects.
func (s *Server) ListVpcConnectors(ctx context.Context, in *wire.ListVpcConnectorsInput) (*wire.ListVpcConnectorsOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.ListVpcConnectors(ctx, in)
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	f := openrunner.VpcConnectorFilter{Limit: maxResults(in.MaxResults)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, "ListVpcConnectors", nil, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := s.VPC.FindVpcConnectors(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListVpcConnectorsOutput{VpcConnectors: make([]wire.VpcConnector, 0, len(page.Connectors))}
	for _, c := range page.Connectors {
		out.VpcConnectors = append(out.VpcConnectors, *wireVpcConnector(c))
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListVpcConnectors", nil, page.Next))
	}
	return out, nil
}

// DeleteVpcConnector implements wire.AppRunner.
func (s *Server) DeleteVpcConnector(ctx context.Context, in *wire.DeleteVpcConnectorInput) (*wire.DeleteVpcConnectorOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.DeleteVpcConnector(ctx, in)
	}
	if err := fullConnectorARN(ctx, *in.VpcConnectorArn); err != nil {
		return nil, err
	}
	c, err := s.VPC.DeleteVpcConnector(ctx, *in.VpcConnectorArn)
	if err != nil {
		return nil, err
	}
	return &wire.DeleteVpcConnectorOutput{VpcConnector: wireVpcConnector(c)}, nil
}

// fullConnectorARN requires a full VPC connector ARN (…/name/revision/id),
// as App Runner does.
func fullConnectorARN(ctx context.Context, arn string) error {
	a, err := ownedARN(ctx, arn, openrunner.ResourceVpcConnector)
	if err != nil {
		return err
	}
	if len(a.Path) != 3 {
		return openrunner.Errorf(openrunner.EINVALID, "The ARN must be a full VPC connector ARN. ARN: '%s'", openrunner.Truncate(arn, 200))
	}
	return nil
}

// checkVpcConnector makes sure a VPC-egress configuration names an ACTIVE
// connector of the caller's account and Region.
func (s *Server) checkVpcConnector(ctx context.Context, n openrunner.NetworkConfig) error {
	if n.EgressType != "VPC" {
		return nil
	}
	if s.VPC == nil {
		return openrunner.Errorf(openrunner.EINVALID, "This server does not support VPC egress.")
	}
	if err := fullConnectorARN(ctx, n.VpcConnectorARN); err != nil {
		if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
			err = openrunner.Errorf(openrunner.EINVALID, "The VPC connector you specified doesn't exist. ARN: %s", openrunner.Truncate(n.VpcConnectorARN, 1011))
		}
		return err
	}
	c, err := s.VPC.FindVpcConnector(ctx, n.VpcConnectorARN)
	switch {
	case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
		return openrunner.Errorf(openrunner.EINVALID, "The VPC connector you specified doesn't exist. ARN: %s", openrunner.Truncate(n.VpcConnectorARN, 1011))
	case err != nil:
		return err
	case c.Status != openrunner.VpcConnectorActive:
		return openrunner.Errorf(openrunner.EINVALID, "The VPC connector you specified has been deleted. ARN: %s", n.VpcConnectorARN)
	}
	return nil
}

func wireVpcConnector(c *openrunner.VpcConnector) *wire.VpcConnector {
	out := &wire.VpcConnector{
		VpcConnectorName:     wire.Ptr(c.Name),
		VpcConnectorArn:      wire.Ptr(c.ARN()),
		VpcConnectorRevision: wire.Ptr(int32(1)),
		Subnets:              nonNilList(c.Subnets),
		SecurityGroups:       nonNilList(c.SecurityGroups),
		Status:               wire.Ptr(wire.VpcConnectorStatus(c.Status)),
		CreatedAt:            wire.NewTimestamp(c.CreatedAt),
	}
	if !c.DeletedAt.IsZero() {
		out.DeletedAt = wire.NewTimestamp(c.DeletedAt)
	}
	return out
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
