package console

import (
	"context"
	"fmt"
	"net/url"

	"github.com/openrunner/openrunner/wire"
)

// The create and edit forms' networking and observability settings:
// incoming traffic (public or private), the IP address type, outgoing
// traffic through a VPC connector and tracing with an observability
// configuration. The connector and observability pickers show only where
// this server runs those resources' operations.

// networkForm is the networking and observability part of serviceForm.
type networkForm struct {
	Ingress, IPType string // "public" or "private"; IPV4 or DUAL_STACK
	Egress          string // "" for the default, or a VPC connector ARN
	Observability   string // "" for off, or an observability configuration ARN

	// Whether the form carried the pickers (an edit without them keeps
	// the service's settings).
	egressPosted, obsPosted bool

	Connectors    []option // nil: no VPC connector operations here
	ObsConfigs    []option // nil: no observability operations here
	HasConnectors bool
	HasObs        bool
}

func defaultNetworkForm() networkForm {
	return networkForm{Ingress: "public", IPType: string(wire.IpAddressTypeIpv4)}
}

// readNetwork fills n from a POSTed form.
func (n *networkForm) readNetwork(form url.Values) {
	for name, dst := range map[string]*string{"ingress": &n.Ingress, "ip_type": &n.IPType, "egress": &n.Egress, "observability": &n.Observability} {
		if form.Has(name) {
			*dst = form.Get(name)
		}
	}
	n.egressPosted, n.obsPosted = form.Has("egress"), form.Has("observability")
}

// network is the NetworkConfiguration the form describes.
func (n *networkForm) network() *wire.NetworkConfiguration {
	out := &wire.NetworkConfiguration{
		IngressConfiguration: &wire.IngressConfiguration{IsPubliclyAccessible: wire.Ptr(n.Ingress != "private")},
		IpAddressType:        wire.Ptr(wire.IpAddressType(n.IPType)),
	}
	if n.egressPosted {
		e := &wire.EgressConfiguration{EgressType: wire.Ptr(wire.EgressTypeDefault)}
		if n.Egress != "" {
			e.EgressType, e.VpcConnectorArn = wire.Ptr(wire.EgressTypeVpc), wire.Ptr(n.Egress)
		}
		out.EgressConfiguration = e
	}
	return out
}

// observability is the ObservabilityConfiguration the form describes, nil
// when it had no picker.
func (n *networkForm) observability() *wire.ServiceObservabilityConfiguration {
	if !n.obsPosted {
		return nil
	}
	out := &wire.ServiceObservabilityConfiguration{ObservabilityEnabled: wire.Ptr(n.Observability != "")}
	if n.Observability != "" {
		out.ObservabilityConfigurationArn = wire.Ptr(n.Observability)
	}
	return out
}

// networkFromService prefills n from DescribeService.
func networkFromService(svc *wire.Service) networkForm {
	n := defaultNetworkForm()
	if c := svc.NetworkConfiguration; c != nil {
		if i := c.IngressConfiguration; i != nil && !wire.Deref(i.IsPubliclyAccessible) {
			n.Ingress = "private"
		}
		if c.IpAddressType != nil {
			n.IPType = string(*c.IpAddressType)
		}
		if e := c.EgressConfiguration; e != nil {
			n.Egress = wire.Deref(e.VpcConnectorArn)
		}
	}
	if o := svc.ObservabilityConfiguration; o != nil && wire.Deref(o.ObservabilityEnabled) {
		n.Observability = wire.Deref(o.ObservabilityConfigurationArn)
	}
	return n
}

// fillNetworkChoices lists the ACTIVE VPC connectors and the observability
// configurations, where this server has them.
func (c *Console) fillNetworkChoices(ctx context.Context, n *networkForm) {
	a, err := c.api()
	if err != nil {
		return
	}
	if out, err := call(ctx, &wire.ListVpcConnectorsInput{MaxResults: wire.Ptr(int32(100))}, a.ListVpcConnectors); err == nil {
		n.HasConnectors = true
		for _, vc := range out.VpcConnectors {
			if wire.Deref(vc.Status) == wire.VpcConnectorStatusActive {
				n.Connectors = append(n.Connectors, option{Value: wire.Deref(vc.VpcConnectorArn),
					Label: fmt.Sprintf("%s · revision %d", wire.Deref(vc.VpcConnectorName), wire.Deref(vc.VpcConnectorRevision))})
			}
		}
	}
	if out, err := call(ctx, &wire.ListObservabilityConfigurationsInput{MaxResults: wire.Ptr(int32(100))}, a.ListObservabilityConfigurations); err == nil {
		n.HasObs = true
		for _, oc := range out.ObservabilityConfigurationSummaryList {
			n.ObsConfigs = append(n.ObsConfigs, option{Value: wire.Deref(oc.ObservabilityConfigurationArn),
				Label: fmt.Sprintf("%s · revision %d", wire.Deref(oc.ObservabilityConfigurationName), wire.Deref(oc.ObservabilityConfigurationRevision))})
		}
	}
}
