package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/wire"
)

// The create and edit forms' networking and observability settings:
// incoming traffic (public, or private with a VPC ingress connection), the
// IP address type, outgoing traffic through a VPC connector, and
// observability with an ACTIVE observability configuration. The connector
// and observability pickers show only where this server runs those
// resources' operations.

// networkForm is the networking and observability part of serviceForm.
type networkForm struct {
	Ingress, IPType string // "public" or "private"; IPV4 or DUAL_STACK
	Egress          string // "" for the default, or a VPC connector ARN
	ObsEnabled      bool
	Observability   string // "" for none, or an observability configuration ARN

	// The VPC ingress connection a private service gets, where it has
	// none yet (ShowIngress).
	IngressName, IngressVpc, IngressEndpoint string
	ShowIngress                              bool

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
	for name, dst := range map[string]*string{"ingress": &n.Ingress, "ip_type": &n.IPType, "egress": &n.Egress, "observability": &n.Observability,
		"ingress_name": &n.IngressName, "ingress_vpc": &n.IngressVpc, "ingress_endpoint": &n.IngressEndpoint} {
		if form.Has(name) {
			*dst = strings.TrimSpace(form.Get(name))
		}
	}
	n.egressPosted, n.obsPosted = form.Has("egress"), form.Has("observability")
	if n.obsPosted {
		n.ObsEnabled = form.Get("observability_enabled") == "on"
	}
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
	out := &wire.ServiceObservabilityConfiguration{ObservabilityEnabled: wire.Ptr(n.ObsEnabled)}
	if n.ObsEnabled && n.Observability != "" {
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
		n.ObsEnabled, n.Observability = true, wire.Deref(o.ObservabilityConfigurationArn)
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

// wantsIngress reports whether the form asks for a VPC ingress connection:
// a new private service always (App Runner's console creates one with
// it), an edited one when a field is filled.
func (n *networkForm) wantsIngress(edit bool) bool {
	if n.Ingress != "private" || !n.ShowIngress {
		return false
	}
	return !edit || n.IngressName != "" || n.IngressVpc != "" || n.IngressEndpoint != ""
}

// ingressInput is the CreateVpcIngressConnection input of the form, for
// the service serviceARN.
func (n *networkForm) ingressInput(serviceARN string) *wire.CreateVpcIngressConnectionInput {
	in := &wire.CreateVpcIngressConnectionInput{ServiceArn: &serviceARN,
		IngressVpcConfiguration: &wire.IngressVpcConfiguration{VpcId: &n.IngressVpc, VpcEndpointId: &n.IngressEndpoint}}
	if n.IngressName != "" {
		in.VpcIngressConnectionName = &n.IngressName
	}
	return in
}

// ingressField is the form field an ingress connection error concerns.
func ingressField(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "vpcingressconnectionname"), strings.Contains(m, "named"):
		return "ingress_name"
	case strings.Contains(m, "vpcendpointid"):
		return "ingress_endpoint"
	default:
		return "ingress_vpc"
	}
}

// placeIngressError shows an ingress connection error next to its field.
func (n *networkForm) placeIngressError(f *serviceForm, msg string) {
	violations, ok := splitViolations(msg)
	if !ok {
		violations = []string{msg}
	}
	for _, v := range violations {
		f.fail(ingressField(v), v)
	}
}

// checkIngress checks the form's ingress connection before the service is
// created or updated, so a refused one changes nothing.
func (f *serviceForm) checkIngress(placeholderARN string) {
	if !f.wantsIngress(f.Edit) {
		return
	}
	if err := api.CheckVpcIngressConnection(f.ingressInput(placeholderARN)); err != nil {
		f.placeIngressError(f, openrunner.ErrorMessage(err))
	}
}

// addIngress creates the form's VPC ingress connection for the service
// arn, once the service is created or updated; the flash says how it went.
func (c *Console) addIngress(ctx context.Context, r *http.Request, s sessionView, f *serviceForm, arn string) {
	if !f.wantsIngress(f.Edit) {
		return
	}
	a, err := c.api()
	if err == nil {
		var out *wire.CreateVpcIngressConnectionOutput
		if out, err = call(ctx, f.ingressInput(arn), a.CreateVpcIngressConnection); err == nil {
			c.sessions.addFlash(s.key, "success", fmt.Sprintf("VPC ingress connection %s is being created: the service will answer at %s on %s.",
				f.IngressName, wire.Deref(out.VpcIngressConnection.DomainName), f.IngressVpc))
			return
		}
	}
	c.sessions.addFlash(s.key, "error", "The VPC ingress connection was not created: "+c.storeError(r, "creating a VPC ingress connection", err))
}

// ingressOf returns the service's VPC ingress connection that is not
// DELETED, nil when it has none (or this server has no VPC operations).
func (c *Console) ingressOf(ctx context.Context, arn string) *wire.VpcIngressConnection {
	a, err := c.api()
	if err != nil {
		return nil
	}
	out, err := call(ctx, &wire.ListVpcIngressConnectionsInput{Filter: &wire.ListVpcIngressConnectionsFilter{ServiceArn: &arn}}, a.ListVpcIngressConnections)
	if err != nil {
		return nil
	}
	for _, sum := range out.VpcIngressConnectionSummaryList {
		d, err := call(ctx, &wire.DescribeVpcIngressConnectionInput{VpcIngressConnectionArn: sum.VpcIngressConnectionArn}, a.DescribeVpcIngressConnection)
		if err == nil && wire.Deref(d.VpcIngressConnection.Status) != wire.VpcIngressConnectionStatusDeleted {
			return d.VpcIngressConnection
		}
	}
	return nil
}

// canAddIngress reports whether the form offers a VPC ingress connection:
// where this server runs the VPC operations, for a new service or one
// without a connection.
func (c *Console) canAddIngress(ctx context.Context, editARN string) bool {
	a, err := c.api()
	if err != nil {
		return false
	}
	_, err = call(ctx, &wire.ListVpcIngressConnectionsInput{MaxResults: wire.Ptr(int32(1))}, a.ListVpcIngressConnections)
	if openrunner.ErrorCode(err) == openrunner.ENOTIMPLEMENTED {
		return false
	}
	return editARN == "" || c.ingressOf(ctx, editARN) == nil
}

// ingressRows describe the service's VPC ingress connection for the
// Configuration tab; none when it has none.
func (c *Console) ingressRows(ctx context.Context, arn string) []configRow {
	ic := c.ingressOf(ctx, arn)
	if ic == nil {
		return nil
	}
	rows := []configRow{
		{Key: "VPC ingress connection", Value: wire.Deref(ic.VpcIngressConnectionName) + " · " + string(wire.Deref(ic.Status))},
		{Key: "Private domain", Value: orNone(wire.Deref(ic.DomainName)), Mono: true},
	}
	if v := ic.IngressVpcConfiguration; v != nil {
		rows = append(rows, configRow{Key: "VPC", Value: wire.Deref(v.VpcId), Mono: true},
			configRow{Key: "VPC endpoint", Value: wire.Deref(v.VpcEndpointId), Mono: true})
	}
	return rows
}

// observabilityRows describe the service's observability configuration:
// its name, revision and trace vendor as DescribeObservabilityConfiguration
// has them, and its ARN.
func (c *Console) observabilityRows(ctx context.Context, arn string) []configRow {
	rows := []configRow{{Key: "Configuration ARN", Value: arn, Mono: true}}
	a, err := c.api()
	if err != nil {
		return rows
	}
	out, err := call(ctx, &wire.DescribeObservabilityConfigurationInput{ObservabilityConfigurationArn: &arn}, a.DescribeObservabilityConfiguration)
	if err != nil {
		return rows
	}
	oc, vendor := out.ObservabilityConfiguration, "None"
	if t := oc.TraceConfiguration; t != nil {
		vendor = string(wire.Deref(t.Vendor))
	}
	return append([]configRow{
		{Key: "Configuration", Value: fmt.Sprintf("%s, revision %d (%s)", wire.Deref(oc.ObservabilityConfigurationName), wire.Deref(oc.ObservabilityConfigurationRevision), wire.Deref(oc.Status))},
		{Key: "Trace vendor", Value: vendor},
	}, rows...)
}
