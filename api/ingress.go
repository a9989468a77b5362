package api

import (
	"context"
	"slices"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// CreateVpcIngressConnection implements wire.AppRunner. The connection
// starts PENDING_CREATION; the ingress controller makes it AVAILABLE once
// its endpoint serves (or FAILED_CREATION).
func (s *Server) CreateVpcIngressConnection(ctx context.Context, in *wire.CreateVpcIngressConnectionInput) (*wire.CreateVpcIngressConnectionOutput, error) {
	if s.VPC == nil || s.Services == nil {
		return s.Unimplemented.CreateVpcIngressConnection(ctx, in)
	}
	vpcID, endpointID, err := ingressVpc(in.IngressVpcConfiguration)
	if err != nil {
		return nil, err
	}
	unknown := openrunner.Errorf(openrunner.EINVALID, "The service you specified doesn't exist in this account and Region. ServiceArn: %s", openrunner.Truncate(*in.ServiceArn, 1011))
	if _, err := ownedARN(ctx, *in.ServiceArn, openrunner.ResourceService); openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, unknown // the model has no ResourceNotFoundException here
	} else if err != nil {
		return nil, err
	}
	svc, err := s.Services.FindServiceByARN(ctx, *in.ServiceArn)
	switch {
	case openrunner.ErrorCode(err) == openrunner.ENOTFOUND || (err == nil && svc.Status == openrunner.ServiceDeleted):
		return nil, unknown
	case err != nil:
		return nil, err
	}
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	c := &openrunner.VpcIngressConnection{
		Name: *in.VpcIngressConnectionName, ServiceARN: svc.ARN(), VpcID: vpcID, VpcEndpointID: endpointID,
		DomainName: ingressDomain(svc, s.BaseDomain),
	}
	if err := s.VPC.CreateVpcIngressConnection(ctx, c, tags); err != nil {
		return nil, err
	}
	s.ingressChanged()
	return &wire.CreateVpcIngressConnectionOutput{VpcIngressConnection: wireIngress(c)}, nil
}

// ingressDomain is a new connection's DomainName:
// <service URL prefix>.<10 random hex digits>.<region>.<base domain>
// (App Runner's format is UNCONFIRMED; docs/decisions.md).
func ingressDomain(svc *openrunner.Service, baseDomain string) string {
	return strings.ToLower(svc.URLPrefix + "." + openrunner.NewID()[:10] + "." + svc.Scope.Region + "." + baseDomain)
}

// ingressVpc reads IngressVpcConfiguration, whose VpcId and VpcEndpointId
// OpenRunner requires (App Runner cannot connect without them either).
func ingressVpc(in *wire.IngressVpcConfiguration) (vpcID, endpointID string, err error) {
	if in == nil || wire.Deref(in.VpcId) == "" {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "IngressVpcConfiguration.VpcId is required.")
	}
	if wire.Deref(in.VpcEndpointId) == "" {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "IngressVpcConfiguration.VpcEndpointId is required.")
	}
	vpcID, endpointID = *in.VpcId, *in.VpcEndpointId
	for _, id := range []string{vpcID, endpointID} {
		if len(id) > 255 || containsSpace(id) {
			return "", "", openrunner.Errorf(openrunner.EINVALID, "'%s' isn't a valid id.", openrunner.Truncate(id, 100))
		}
	}
	return vpcID, endpointID, nil
}

// DescribeVpcIngressConnection implements wire.AppRunner; DELETED
// connections stay describable.
func (s *Server) DescribeVpcIngressConnection(ctx context.Context, in *wire.DescribeVpcIngressConnectionInput) (*wire.DescribeVpcIngressConnectionOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.DescribeVpcIngressConnection(ctx, in)
	}
	if _, err := ownedARN(ctx, *in.VpcIngressConnectionArn, openrunner.ResourceVpcIngressConnection); err != nil {
		return nil, err
	}
	c, err := s.VPC.FindVpcIngressConnection(ctx, *in.VpcIngressConnectionArn)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeVpcIngressConnectionOutput{VpcIngressConnection: wireIngress(c)}, nil
}

// ListVpcIngressConnections implements wire.AppRunner.
func (s *Server) ListVpcIngressConnections(ctx context.Context, in *wire.ListVpcIngressConnectionsInput) (*wire.ListVpcIngressConnectionsOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.ListVpcIngressConnections(ctx, in)
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	f := openrunner.VpcIngressConnectionFilter{Limit: maxResults(in.MaxResults)}
	if in.Filter != nil {
		f.ServiceARN, f.VpcEndpointID = in.Filter.ServiceArn, in.Filter.VpcEndpointId
	}
	query := []string{queryKey(f.ServiceARN), queryKey(f.VpcEndpointID)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, "ListVpcIngressConnections", query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := s.VPC.FindVpcIngressConnections(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListVpcIngressConnectionsOutput{VpcIngressConnectionSummaryList: make([]wire.VpcIngressConnectionSummary, 0, len(page.Connections))}
	for _, c := range page.Connections {
		out.VpcIngressConnectionSummaryList = append(out.VpcIngressConnectionSummaryList, wire.VpcIngressConnectionSummary{
			VpcIngressConnectionArn: wire.Ptr(c.ARN()), ServiceArn: wire.Ptr(c.ServiceARN),
		})
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListVpcIngressConnections", query, page.Next))
	}
	return out, nil
}

// UpdateVpcIngressConnection implements wire.AppRunner: allowed in
// AVAILABLE, FAILED_CREATION and FAILED_UPDATE, it moves the connection to
// PENDING_UPDATE.
func (s *Server) UpdateVpcIngressConnection(ctx context.Context, in *wire.UpdateVpcIngressConnectionInput) (*wire.UpdateVpcIngressConnectionOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.UpdateVpcIngressConnection(ctx, in)
	}
	vpcID, endpointID, err := ingressVpc(in.IngressVpcConfiguration)
	if err != nil {
		return nil, err
	}
	c, err := s.changeIngress(ctx, *in.VpcIngressConnectionArn, "update",
		[]string{openrunner.IngressAvailable, openrunner.IngressFailedCreation, openrunner.IngressFailedUpdate},
		func(c *openrunner.VpcIngressConnection) {
			c.VpcID, c.VpcEndpointID, c.Status = vpcID, endpointID, openrunner.IngressPendingUpdate
		})
	if err != nil {
		return nil, err
	}
	return &wire.UpdateVpcIngressConnectionOutput{VpcIngressConnection: wireIngress(c)}, nil
}

// DeleteVpcIngressConnection implements wire.AppRunner: allowed in
// AVAILABLE and the FAILED_* statuses, it moves the connection to
// PENDING_DELETION; it is DELETED once its endpoint is removed.
func (s *Server) DeleteVpcIngressConnection(ctx context.Context, in *wire.DeleteVpcIngressConnectionInput) (*wire.DeleteVpcIngressConnectionOutput, error) {
	if s.VPC == nil {
		return s.Unimplemented.DeleteVpcIngressConnection(ctx, in)
	}
	c, err := s.changeIngress(ctx, *in.VpcIngressConnectionArn, "delete",
		[]string{openrunner.IngressAvailable, openrunner.IngressFailedCreation, openrunner.IngressFailedUpdate, openrunner.IngressFailedDeletion},
		func(c *openrunner.VpcIngressConnection) { c.Status = openrunner.IngressPendingDeletion })
	if err != nil {
		return nil, err
	}
	return &wire.DeleteVpcIngressConnectionOutput{VpcIngressConnection: wireIngress(c)}, nil
}

// changeIngress applies change to the connection if its status is one of
// allowed (InvalidStateException otherwise), atomically, and tells the
// controller.
func (s *Server) changeIngress(ctx context.Context, arn, verb string, allowed []string, change func(*openrunner.VpcIngressConnection)) (*openrunner.VpcIngressConnection, error) {
	scope, err := ownedARN(ctx, arn, openrunner.ResourceVpcIngressConnection)
	if err != nil {
		return nil, err
	}
	c, err := s.VPC.UpdateVpcIngressConnection(ctx, arn, func(c *openrunner.VpcIngressConnection) error {
		if c.Scope != scope.Scope() {
			return openrunner.Errorf(openrunner.ENOTFOUND, "No resource found for the ARN: %s", arn)
		}
		if !slices.Contains(allowed, c.Status) {
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "You can %s a VPC ingress connection only when its status is %s. Current status: %s",
				verb, strings.Join(allowed, ", "), c.Status)
		}
		change(c)
		c.StatusMessage = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.ingressChanged()
	return c, nil
}

func (s *Server) ingressChanged() {
	if s.IngressChanged != nil {
		s.IngressChanged()
	}
}

// ingressBlocksDelete refuses to delete a service that has an AVAILABLE
// VPC ingress connection, with App Runner's message.
func (s *Server) ingressBlocksDelete(ctx context.Context, serviceARN string) error {
	if s.VPC == nil {
		return nil
	}
	if _, err := ownedARN(ctx, serviceARN, openrunner.ResourceService); err != nil {
		return nil // the operation reports it
	}
	c, err := s.VPC.FindVpcIngressConnectionForService(ctx, serviceARN)
	switch {
	case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case c.Status == openrunner.IngressAvailable:
		return openrunner.Errorf(openrunner.EINVALIDSTATE,
			"You cannot delete a Service while it has VpcIngressConnections with a status of AVAILABLE. Service Arn: %s VpcIngressConnection Arn: %s", serviceARN, c.ARN())
	}
	return nil
}

func wireIngress(c *openrunner.VpcIngressConnection) *wire.VpcIngressConnection {
	out := &wire.VpcIngressConnection{
		VpcIngressConnectionName: wire.Ptr(c.Name),
		VpcIngressConnectionArn:  wire.Ptr(c.ARN()),
		ServiceArn:               wire.Ptr(c.ServiceARN),
		AccountId:                wire.Ptr(c.Scope.AccountID),
		DomainName:               wire.Ptr(c.DomainName),
		Status:                   wire.Ptr(wire.VpcIngressConnectionStatus(c.Status)),
		IngressVpcConfiguration:  &wire.IngressVpcConfiguration{VpcId: wire.Ptr(c.VpcID), VpcEndpointId: wire.Ptr(c.VpcEndpointID)},
		CreatedAt:                wire.NewTimestamp(c.CreatedAt),
	}
	if !c.DeletedAt.IsZero() {
		out.DeletedAt = wire.NewTimestamp(c.DeletedAt)
	}
	return out
}
