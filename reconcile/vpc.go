package reconcile

import (
	"context"
	"slices"

	"github.com/openrunner/openrunner"
)

// VPC is how the reconciler finds where a VPC-egress revision's instances
// attach.
type VPC struct {
	// Connectors finds VPC connectors; nil fails every VPC-egress
	// deployment.
	Connectors openrunner.VPCService
	// Networks maps a subnet id to the runtime's network name (on
	// Docker, a network); a subnet it does not map names the network of
	// the same name.
	Networks map[string]string
}

// Network returns the runtime network a subnet or VPC id names.
func (v VPC) Network(id string) string {
	if n, ok := v.Networks[id]; ok {
		return n
	}
	return id
}

// networks returns the networks rev's instances join besides the
// runtime's default one: those of its VPC connector's subnets for VPC
// egress, none for DEFAULT egress. A connector that is gone is EINVALID,
// which fails the deployment.
func (c *Controller) networks(ctx context.Context, svc *openrunner.Service, rev *openrunner.Revision) ([]string, error) {
	n := rev.Config.Network
	if n.EgressType != "VPC" {
		return nil, nil
	}
	if c.VPC.Connectors == nil {
		return nil, openrunner.Errorf(openrunner.EINVALID, "this server cannot attach instances to a VPC connector's subnets")
	}
	conn, err := c.VPC.Connectors.FindVpcConnector(openrunner.NewContextWithScope(ctx, svc.Scope), n.VpcConnectorARN)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, openrunner.Errorf(openrunner.EINVALID, "the VPC connector %s does not exist", n.VpcConnectorARN)
	} else if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range conn.Subnets {
		if net := c.VPC.Network(s); !slices.Contains(out, net) {
			out = append(out, net)
		}
	}
	return out, nil
}
