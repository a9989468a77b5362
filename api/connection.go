package api

import (
	"context"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// CreateConnection implements wire.AppRunner.
func (s *Server) CreateConnection(ctx context.Context, in *wire.CreateConnectionInput) (*wire.CreateConnectionOutput, error) {
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	c := &openrunner.Connection{Name: *in.ConnectionName, ProviderType: string(*in.ProviderType)}
	if err := s.Connections.CreateConnection(ctx, c, tags); err != nil {
		return nil, err
	}
	return &wire.CreateConnectionOutput{Connection: wireConnection(c)}, nil
}

// ListConnections implements wire.AppRunner.
func (s *Server) ListConnections(ctx context.Context, in *wire.ListConnectionsInput) (*wire.ListConnectionsOutput, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	query := []string{queryKey(in.ConnectionName)}
	f := openrunner.ConnectionFilter{Name: in.ConnectionName, Limit: maxResults(in.MaxResults)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, "ListConnections", query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := s.Connections.FindConnections(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListConnectionsOutput{ConnectionSummaryList: make([]wire.ConnectionSummary, 0, len(page.Connections))}
	for _, c := range page.Connections {
		out.ConnectionSummaryList = append(out.ConnectionSummaryList, wire.ConnectionSummary{
			ConnectionName: wire.Ptr(c.Name),
			ConnectionArn:  wire.Ptr(c.ARN()),
			ProviderType:   wire.Ptr(wire.ProviderType(c.ProviderType)),
			Status:         wire.Ptr(wire.ConnectionStatus(c.Status)),
			CreatedAt:      wire.NewTimestamp(c.CreatedAt),
		})
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListConnections", query, page.Next))
	}
	return out, nil
}

// DeleteConnection implements wire.AppRunner.
func (s *Server) DeleteConnection(ctx context.Context, in *wire.DeleteConnectionInput) (*wire.DeleteConnectionOutput, error) {
	if _, err := ownedARN(ctx, *in.ConnectionArn, openrunner.ResourceConnection); err != nil {
		return nil, err
	}
	if err := s.connectionInUse(ctx, *in.ConnectionArn); err != nil {
		return nil, err
	}
	c, err := s.Connections.DeleteConnection(ctx, *in.ConnectionArn)
	if err != nil {
		return nil, err
	}
	return &wire.DeleteConnectionOutput{Connection: wireConnection(c)}, nil
}

func wireConnection(c *openrunner.Connection) *wire.Connection {
	return &wire.Connection{
		ConnectionName: wire.Ptr(c.Name),
		ConnectionArn:  wire.Ptr(c.ARN()),
		ProviderType:   wire.Ptr(wire.ProviderType(c.ProviderType)),
		Status:         wire.Ptr(wire.ConnectionStatus(c.Status)),
		CreatedAt:      wire.NewTimestamp(c.CreatedAt),
	}
}

// ownedARN parses arn, which must name a resource of type typ (any type if
// typ is ""). A malformed ARN, or one of another type, is EINVALID; one of
// another account or Region is ENOTFOUND, as if it did not exist, so that
// no call reveals another account's resources.
func ownedARN(ctx context.Context, arn, typ string) (openrunner.ARN, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.ARN{}, err
	}
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return a, err
	}
	if typ != "" && a.Type != typ {
		return a, openrunner.Errorf(openrunner.EINVALID, "The ARN you specified isn't a %s ARN. ARN: '%s'", typ, openrunner.Truncate(arn, 200))
	}
	if a.Scope() != scope {
		return a, openrunner.Errorf(openrunner.ENOTFOUND, "No resource found for the ARN: %s", openrunner.Truncate(arn, 200))
	}
	return a, nil
}

// connectionInUse refuses to delete a connection that a service of the
// Scope (not DELETED) uses, naming the service. App Runner's wording is
// UNCONFIRMED (docs/decisions.md).
func (s *Server) connectionInUse(ctx context.Context, arn string) error {
	if s.Services == nil {
		return nil
	}
	var after int64
	for {
		page, err := s.Services.FindServices(ctx, openrunner.ServiceFilter{After: after, Limit: 100})
		if err != nil {
			return err
		}
		for _, svc := range page.Services {
			uses := svc.Config.Source.ConnectionARN == arn
			if !uses && svc.Status == openrunner.ServiceOperationInProgress {
				// An update in progress may be moving the service to it.
				ops, err := s.Services.FindOperations(ctx, svc.ARN(), openrunner.OperationFilter{Limit: 1})
				if err != nil {
					return err
				}
				for _, op := range ops.Operations {
					uses = op.Desired != nil && op.Desired.Source.ConnectionARN == arn
				}
			}
			if uses {
				return openrunner.Errorf(openrunner.EINVALID,
					"You can't delete the connection: the service %s (%s) uses it. Delete the service, or update it to use another connection, first.", svc.Name, svc.ARN())
			}
		}
		if page.Next == 0 {
			return nil
		}
		after = page.Next
	}
}
