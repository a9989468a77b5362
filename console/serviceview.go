package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openrunner/openrunner/wire"
)

// servicePage is the data of templates/service.html.
type servicePage struct {
	Service  serviceHeader
	Tab      string
	Tabs     []tabLink
	Logs     *logsTab
	Activity []operationRow
	Config   []configSection
	Metrics  *metricsTab
	Domains  *domainsTab
	TabError string
}

// tabLink is one tab of the service page.
type tabLink struct {
	ID, Label, Href string
	Current         bool
}

var serviceTabs = []struct{ id, label string }{
	{"logs", "Logs"}, {"activity", "Activity"}, {"configuration", "Configuration"}, {"metrics", "Metrics"},
	{"domains", "Custom domains"},
}

// handleService shows a service: its header and one tab.
func (c *Console) handleService(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	q := r.URL.Query()
	c.renderService(w, r, ctx, s, http.StatusOK, q.Get("arn"), q.Get("tab"), domainForm{WWW: true})
}

// renderService renders the service page on a tab (logs when tab is not
// one), with the custom domain form as given.
func (c *Console) renderService(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView, status int, arn, tab string, form domainForm) {
	svc, err := c.describe(ctx, arn)
	if err != nil {
		c.failTo(w, r, s, pathServices, c.storeError(r, "finding a service", err))
		return
	}
	p := servicePage{Service: c.serviceHeader(svc), Tab: "logs"}
	if p.Service.Host == "" {
		if ic := c.ingressOf(ctx, arn); ic != nil {
			p.Service.PrivateDomain = wire.Deref(ic.DomainName)
		}
	}
	if c.cfg.Metrics != nil {
		if pts := c.cfg.Metrics(arn); len(pts) > 0 {
			last := pts[len(pts)-1]
			p.Service.Instances = fmt.Sprintf("%d active of %d desired", last.Active, last.Desired)
		}
	}
	for _, t := range serviceTabs {
		if t.id == "domains" && !c.hasDomains(ctx, arn) {
			continue
		}
		if t.id == tab {
			p.Tab = tab
		}
		p.Tabs = append(p.Tabs, tabLink{ID: t.id, Label: t.label, Href: serviceURL(arn, t.id)})
	}
	for i := range p.Tabs {
		p.Tabs[i].Current = p.Tabs[i].ID == p.Tab
	}
	l := layout{Title: p.Service.Name, Flashes: c.sessions.takeFlashes(s.key)}
	switch p.Tab {
	case "logs":
		p.Logs, err = c.logsTab(ctx, arn, r.URL.Query().Get("operation"))
		l.JS = c.jsPath
	case "activity":
		p.Activity, err = c.activity(ctx, arn)
	case "configuration":
		p.Config = c.configuration(ctx, svc)
	case "metrics":
		p.Metrics = c.metricsTab(arn)
	case "domains":
		p.Domains, err = c.domainsTab(ctx, arn, form)
		l.JS = c.jsPath
	}
	if err != nil {
		p.TabError = c.storeError(r, "reading a service tab", err)
	}
	l.Page = p
	c.fillHeader(&l, s, pathServices)
	c.render(w, r, status, "service", l)
}

// operationRow is one operation of the Activity tab.
type operationRow struct {
	ID, Type, Status    string
	Started, StartedISO string
	Ended, Duration     string
}

// maxOperations bounds the operations the Activity tab lists.
const maxOperations = 200

// activity lists the service's operations, newest first, as
// ListOperations returns them.
func (c *Console) activity(ctx context.Context, arn string) ([]operationRow, error) {
	ops, err := c.operations(ctx, arn)
	if err != nil {
		return nil, err
	}
	rows := make([]operationRow, 0, len(ops))
	for _, op := range ops {
		row := operationRow{ID: wire.Deref(op.Id), Type: string(wire.Deref(op.Type)), Status: string(wire.Deref(op.Status))}
		var started time.Time
		if op.StartedAt != nil {
			started = op.StartedAt.Time
			row.Started, row.StartedISO = started.UTC().Format("Jan 2, 2006 15:04:05 UTC"), started.UTC().Format(time.RFC3339)
		}
		if op.EndedAt != nil {
			row.Ended = op.EndedAt.Time.UTC().Format("15:04:05 UTC")
			row.Duration = op.EndedAt.Time.Sub(started).Round(time.Second).String()
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// operations returns up to maxOperations of the service's operations,
// newest first.
func (c *Console) operations(ctx context.Context, arn string) ([]wire.OperationSummary, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	in := &wire.ListOperationsInput{ServiceArn: &arn, MaxResults: wire.Ptr(int32(20))}
	var ops []wire.OperationSummary
	for len(ops) < maxOperations {
		out, err := call(ctx, in, api.ListOperations)
		if err != nil {
			return nil, err
		}
		ops = append(ops, out.OperationSummaryList...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	return ops, nil
}

// configSection is one titled group of the Configuration tab.
type configSection struct {
	Title string
	Rows  []configRow
}

// configRow is one setting; Mono shows it in a fixed-width font.
type configRow struct {
	Key, Value string
	Mono       bool
}

// configuration lays out everything DescribeService returns.
func (c *Console) configuration(ctx context.Context, svc *wire.Service) []configSection {
	row := func(k, v string) configRow { return configRow{Key: k, Value: v} }
	mono := func(k, v string) configRow { return configRow{Key: k, Value: v, Mono: true} }
	svcSec := configSection{Title: "Service", Rows: []configRow{
		row("Name", wire.Deref(svc.ServiceName)), mono("ID", wire.Deref(svc.ServiceId)), mono("ARN", wire.Deref(svc.ServiceArn)),
		row("Status", string(wire.Deref(svc.Status))), mono("Default domain", orNone(wire.Deref(svc.ServiceUrl))),
		row("Created", stamp(svc.CreatedAt)), row("Last updated", stamp(svc.UpdatedAt)),
	}}
	if svc.DeletedAt != nil {
		svcSec.Rows = append(svcSec.Rows, row("Deleted", stamp(svc.DeletedAt)))
	}
	out := []configSection{svcSec, sourceSection(svc.SourceConfiguration)}
	if ic := svc.InstanceConfiguration; ic != nil {
		out = append(out, configSection{Title: "Instance", Rows: []configRow{
			row("CPU", cpuLabel(wire.Deref(ic.Cpu))), row("Memory", memoryLabel(wire.Deref(ic.Memory))),
			mono("Instance role", orNone(wire.Deref(ic.InstanceRoleArn))),
		}})
	}
	if hc := svc.HealthCheckConfiguration; hc != nil {
		out = append(out, configSection{Title: "Health check", Rows: []configRow{
			row("Protocol", string(wire.Deref(hc.Protocol))), mono("Path", wire.Deref(hc.Path)),
			row("Interval", seconds(hc.Interval)), row("Timeout", seconds(hc.Timeout)),
			row("Healthy threshold", num(hc.HealthyThreshold)), row("Unhealthy threshold", num(hc.UnhealthyThreshold)),
		}})
	}
	if a := svc.AutoScalingConfigurationSummary; a != nil {
		out = append(out, configSection{Title: "Auto scaling", Rows: []configRow{
			row("Configuration", fmt.Sprintf("%s, revision %d", wire.Deref(a.AutoScalingConfigurationName), wire.Deref(a.AutoScalingConfigurationRevision))),
			mono("ARN", wire.Deref(a.AutoScalingConfigurationArn)), row("Default", yesNo(wire.Deref(a.IsDefault))),
		}})
	}
	if n := svc.NetworkConfiguration; n != nil {
		sec := configSection{Title: "Networking"}
		if i := n.IngressConfiguration; i != nil {
			access := "Private endpoint"
			if wire.Deref(i.IsPubliclyAccessible) {
				access = "Public endpoint"
			}
			sec.Rows = append(sec.Rows, row("Incoming traffic", access))
		}
		if e := n.EgressConfiguration; e != nil {
			sec.Rows = append(sec.Rows, row("Outgoing traffic", string(wire.Deref(e.EgressType))))
			if e.VpcConnectorArn != nil {
				sec.Rows = append(sec.Rows, mono("VPC connector", *e.VpcConnectorArn))
			}
		}
		sec.Rows = append(sec.Rows, row("IP address type", string(wire.Deref(n.IpAddressType))))
		sec.Rows = append(sec.Rows, c.ingressRows(ctx, wire.Deref(svc.ServiceArn))...)
		out = append(out, sec)
	}
	if o := svc.ObservabilityConfiguration; o != nil {
		sec := configSection{Title: "Observability", Rows: []configRow{row("Tracing", enabled(wire.Deref(o.ObservabilityEnabled)))}}
		if o.ObservabilityConfigurationArn != nil {
			sec.Rows = append(sec.Rows, c.observabilityRows(ctx, *o.ObservabilityConfigurationArn)...)
		}
		out = append(out, sec)
	}
	enc := "AWS-owned key"
	if e := svc.EncryptionConfiguration; e != nil && e.KmsKey != nil {
		enc = *e.KmsKey
	}
	out = append(out, configSection{Title: "Encryption", Rows: []configRow{mono("KMS key", enc)}})
	return append(out, c.tagSection(ctx, wire.Deref(svc.ServiceArn)))
}

// sourceSection lays out a SourceConfiguration.
func sourceSection(src *wire.SourceConfiguration) configSection {
	sec := configSection{Title: "Source and deployment"}
	if src == nil {
		return sec
	}
	add := func(k, v string, m bool) { sec.Rows = append(sec.Rows, configRow{Key: k, Value: v, Mono: m}) }
	deploy := "Manual"
	if wire.Deref(src.AutoDeploymentsEnabled) {
		deploy = "Automatic"
	}
	if img := src.ImageRepository; img != nil {
		add("Source", "Container image", false)
		add("Image", wire.Deref(img.ImageIdentifier), true)
		add("Repository type", string(wire.Deref(img.ImageRepositoryType)), false)
		if ic := img.ImageConfiguration; ic != nil {
			add("Port", wire.Deref(ic.Port), true)
			add("Start command", orNone(wire.Deref(ic.StartCommand)), true)
			addEnv(add, ic.RuntimeEnvironmentVariables, ic.RuntimeEnvironmentSecrets)
		}
	}
	if cr := src.CodeRepository; cr != nil {
		add("Source", "Source code repository", false)
		add("Repository", wire.Deref(cr.RepositoryUrl), true)
		if v := cr.SourceCodeVersion; v != nil {
			add("Branch", wire.Deref(v.Value), true)
		}
		add("Source directory", "/"+strings.TrimPrefix(wire.Deref(cr.SourceDirectory), "/"), true)
		if cc := cr.CodeConfiguration; cc != nil {
			if wire.Deref(cc.ConfigurationSource) == wire.ConfigurationSourceRepository {
				add("Configuration", "apprunner.yaml in the repository", false)
			} else {
				add("Configuration", "Set in the service", false)
			}
			if v := cc.CodeConfigurationValues; v != nil {
				add("Runtime", string(wire.Deref(v.Runtime)), true)
				add("Build command", orNone(wire.Deref(v.BuildCommand)), true)
				add("Start command", orNone(wire.Deref(v.StartCommand)), true)
				add("Port", wire.Deref(v.Port), true)
				addEnv(add, v.RuntimeEnvironmentVariables, v.RuntimeEnvironmentSecrets)
			}
		}
	}
	if a := src.AuthenticationConfiguration; a != nil {
		if a.ConnectionArn != nil {
			add("Connection", *a.ConnectionArn, true)
		}
		if a.AccessRoleArn != nil {
			add("Access role", *a.AccessRoleArn, true)
		}
	}
	add("Deployment", deploy, false)
	return sec
}

// addEnv adds environment variables and secrets (the secrets' ARNs, never
// their values) in name order.
func addEnv(add func(k, v string, m bool), vars, secrets map[string]string) {
	for _, k := range sortedKeys(vars) {
		add("Environment: "+k, vars[k], true)
	}
	for _, k := range sortedKeys(secrets) {
		add("Secret: "+k, secrets[k], true)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tagSection lists the service's tags, as ListTagsForResource returns them.
func (c *Console) tagSection(ctx context.Context, arn string) configSection {
	sec := configSection{Title: "Tags"}
	api, err := c.api()
	if err != nil {
		return sec
	}
	out, err := call(ctx, &wire.ListTagsForResourceInput{ResourceArn: &arn}, api.ListTagsForResource)
	if err != nil {
		sec.Rows = append(sec.Rows, configRow{Key: "Tags", Value: "could not be read: " + err.Error()})
		return sec
	}
	for _, t := range out.Tags {
		sec.Rows = append(sec.Rows, configRow{Key: wire.Deref(t.Key), Value: wire.Deref(t.Value), Mono: true})
	}
	if len(sec.Rows) == 0 {
		sec.Rows = append(sec.Rows, configRow{Key: "Tags", Value: "None"})
	}
	return sec
}

func stamp(t *wire.Timestamp) string {
	if t == nil {
		return "—"
	}
	return t.Time.UTC().Format("Jan 2, 2006 15:04:05 UTC")
}

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func enabled(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

func seconds(v *int32) string { return num(v) + " s" }

func num(v *int32) string {
	if v == nil {
		return "—"
	}
	return strconv.Itoa(int(*v))
}

// cpuLabel is CPU units as App Runner's console writes them: "1 vCPU".
func cpuLabel(units string) string {
	n, err := strconv.Atoi(units)
	if err != nil {
		return units
	}
	return strconv.FormatFloat(float64(n)/1024, 'f', -1, 64) + " vCPU"
}

// memoryLabel is MB as App Runner's console writes them: "2 GB".
func memoryLabel(mb string) string {
	n, err := strconv.Atoi(mb)
	if err != nil {
		return mb
	}
	return strconv.FormatFloat(float64(n)/1024, 'f', -1, 64) + " GB"
}
