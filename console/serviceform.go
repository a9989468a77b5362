package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/wire"
)

// serviceForm is the create and edit form (templates/serviceform.html):
// what was typed, the choices offered, and the errors by field name.
type serviceForm struct {
	Edit bool
	ARN  string // the service edited

	SourceType                                         string // "image" or "code"
	ImageIdentifier, ImageRepositoryType               string
	ImagePort, ImageStart                              string
	Connection, RepositoryURL, Branch, SourceDirectory string
	ConfigSource, Runtime, BuildCommand, CodeStart     string
	CodePort                                           string
	Deployment                                         string // "auto" or "manual"
	Name, Size, Env                                    string
	HCProtocol, HCPath                                 string
	HCInterval, HCTimeout, HCHealthy, HCUnhealthy      string
	ASC, Tags                                          string

	networkForm

	Errors map[string]string
	Error  string // an error no field owns

	Connections     []connectionOption
	Sizes           []option
	Runtimes        []string
	ASCs            []option
	RepositoryTypes []string
}

// option is one choice of a select.
type option struct{ Value, Label string }

// connectionOption is an AVAILABLE connection the form offers.
type connectionOption struct{ ARN, Name, Provider string }

// formFields are the form's inputs, by name.
func (f *serviceForm) fields() map[string]*string {
	return map[string]*string{
		"source_type": &f.SourceType, "image_identifier": &f.ImageIdentifier, "image_repository_type": &f.ImageRepositoryType,
		"image_port": &f.ImagePort, "image_start": &f.ImageStart, "connection": &f.Connection,
		"repository_url": &f.RepositoryURL, "branch": &f.Branch, "source_directory": &f.SourceDirectory,
		"config_source": &f.ConfigSource, "runtime": &f.Runtime, "build_command": &f.BuildCommand,
		"code_start": &f.CodeStart, "code_port": &f.CodePort, "deployment": &f.Deployment,
		"service_name": &f.Name, "size": &f.Size, "env": &f.Env, "hc_protocol": &f.HCProtocol,
		"hc_path": &f.HCPath, "hc_interval": &f.HCInterval, "hc_timeout": &f.HCTimeout,
		"hc_healthy": &f.HCHealthy, "hc_unhealthy": &f.HCUnhealthy, "asc": &f.ASC, "tags": &f.Tags,
	}
}

// defaultForm is a new service's form with App Runner's defaults.
func defaultForm() serviceForm {
	hc := api.DefaultHealthCheck
	return serviceForm{
		SourceType: "image", ImageRepositoryType: string(wire.ImageRepositoryTypeEcr), ImagePort: api.DefaultPort,
		ConfigSource: string(wire.ConfigurationSourceRepository), CodePort: api.DefaultPort, Branch: "main",
		Deployment: "manual", Size: api.DefaultCPU + "/" + api.DefaultMemory,
		HCProtocol: hc.Protocol, HCPath: hc.Path, HCInterval: strconv.Itoa(hc.Interval), HCTimeout: strconv.Itoa(hc.Timeout),
		HCHealthy: strconv.Itoa(hc.HealthyThreshold), HCUnhealthy: strconv.Itoa(hc.UnhealthyThreshold),
		networkForm: defaultNetworkForm(),
	}
}

// readForm fills f from a POSTed form.
func (f *serviceForm) readForm(form url.Values) {
	for name, dst := range f.fields() {
		if form.Has(name) {
			*dst = form.Get(name)
		}
	}
	f.readNetwork(form)
}

// fail records msg for field ("" for the form).
func (f *serviceForm) fail(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if field == "" {
		f.Error = msg
		return
	}
	if prev, ok := f.Errors[field]; ok {
		msg = prev + "\n" + msg
	}
	f.Errors[field] = msg
}

// parseInt32 reads a whole number of the form, or records an error.
func (f *serviceForm) parseInt32(field, label, s string) *int32 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		f.fail(field, fmt.Sprintf("%s must be a whole number.", label))
		return nil
	}
	return wire.Ptr(int32(n))
}

// parsePairs reads NAME=value lines (environment variables, tags).
func (f *serviceForm) parsePairs(field, s string) map[string]string {
	var out map[string]string
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			f.fail(field, fmt.Sprintf("Line %d is not NAME=value.", i+1))
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// source builds the SourceConfiguration the form describes.
func (f *serviceForm) source() *wire.SourceConfiguration {
	env := f.parsePairs("env", f.Env)
	src := &wire.SourceConfiguration{AutoDeploymentsEnabled: wire.Ptr(f.Deployment == "auto")}
	if f.SourceType != "code" {
		ic := &wire.ImageConfiguration{Port: wire.Ptr(strings.TrimSpace(f.ImagePort)), RuntimeEnvironmentVariables: env}
		if s := strings.TrimSpace(f.ImageStart); s != "" {
			ic.StartCommand = &s
		}
		src.ImageRepository = &wire.ImageRepository{ImageIdentifier: wire.Ptr(strings.TrimSpace(f.ImageIdentifier)),
			ImageRepositoryType: wire.Ptr(wire.ImageRepositoryType(f.ImageRepositoryType)), ImageConfiguration: ic}
		return src
	}
	cc := &wire.CodeConfiguration{ConfigurationSource: wire.Ptr(wire.ConfigurationSource(f.ConfigSource))}
	if f.ConfigSource == string(wire.ConfigurationSourceApi) {
		v := &wire.CodeConfigurationValues{Runtime: wire.Ptr(wire.Runtime(f.Runtime)), Port: wire.Ptr(strings.TrimSpace(f.CodePort)),
			RuntimeEnvironmentVariables: env}
		if s := strings.TrimSpace(f.BuildCommand); s != "" {
			v.BuildCommand = &s
		}
		if s := strings.TrimSpace(f.CodeStart); s != "" {
			v.StartCommand = &s
		}
		cc.CodeConfigurationValues = v
	} else if len(env) > 0 {
		f.fail("env", "A service configured by apprunner.yaml takes its environment variables from the file's run.env; choose \"Set values here\" to set them in the service.")
	}
	cr := &wire.CodeRepository{RepositoryUrl: wire.Ptr(strings.TrimSpace(f.RepositoryURL)), CodeConfiguration: cc,
		SourceCodeVersion: &wire.SourceCodeVersion{Type: wire.Ptr(wire.SourceCodeVersionTypeBranch), Value: wire.Ptr(strings.TrimSpace(f.Branch))}}
	if d := strings.Trim(strings.TrimSpace(f.SourceDirectory), "/"); d != "" {
		cr.SourceDirectory = &d
	}
	src.CodeRepository = cr
	src.AuthenticationConfiguration = &wire.AuthenticationConfiguration{ConnectionArn: wire.Ptr(f.Connection)}
	return src
}

// instance and health are the form's instance and health check settings.
func (f *serviceForm) instance() *wire.InstanceConfiguration {
	cpu, mem, _ := strings.Cut(f.Size, "/")
	return &wire.InstanceConfiguration{Cpu: &cpu, Memory: &mem}
}

func (f *serviceForm) health() *wire.HealthCheckConfiguration {
	return &wire.HealthCheckConfiguration{
		Protocol: wire.Ptr(wire.HealthCheckProtocol(f.HCProtocol)), Path: wire.Ptr(f.HCPath),
		Interval:           f.parseInt32("hc_interval", "The interval", f.HCInterval),
		Timeout:            f.parseInt32("hc_timeout", "The timeout", f.HCTimeout),
		HealthyThreshold:   f.parseInt32("hc_healthy", "The healthy threshold", f.HCHealthy),
		UnhealthyThreshold: f.parseInt32("hc_unhealthy", "The unhealthy threshold", f.HCUnhealthy),
	}
}

// createInput is the CreateService input the form describes.
func (f *serviceForm) createInput() *wire.CreateServiceInput {
	in := &wire.CreateServiceInput{ServiceName: wire.Ptr(strings.TrimSpace(f.Name)), SourceConfiguration: f.source(),
		InstanceConfiguration: f.instance(), HealthCheckConfiguration: f.health(),
		NetworkConfiguration: f.network(), ObservabilityConfiguration: f.observability()}
	if f.ASC != "" {
		in.AutoScalingConfigurationArn = wire.Ptr(f.ASC)
	}
	tags := f.parsePairs("tags", f.Tags)
	for _, k := range sortedKeys(tags) {
		in.Tags = append(in.Tags, wire.Tag{Key: wire.Ptr(k), Value: wire.Ptr(tags[k])})
	}
	return in
}

// updateInput is the UpdateService input the edit form describes.
func (f *serviceForm) updateInput() *wire.UpdateServiceInput {
	in := &wire.UpdateServiceInput{ServiceArn: &f.ARN, SourceConfiguration: f.source(),
		InstanceConfiguration: f.instance(), HealthCheckConfiguration: f.health(),
		NetworkConfiguration: f.network(), ObservabilityConfiguration: f.observability()}
	if f.ASC != "" {
		in.AutoScalingConfigurationArn = wire.Ptr(f.ASC)
	}
	return in
}

// fillChoices loads what the form offers: AVAILABLE connections, the valid
// instance sizes, runtimes and auto scaling configurations.
func (c *Console) fillChoices(ctx context.Context, f *serviceForm) {
	for _, sz := range api.InstanceSizes() {
		f.Sizes = append(f.Sizes, option{Value: sz.CPU + "/" + sz.Memory, Label: cpuLabel(sz.CPU) + " · " + memoryLabel(sz.Memory)})
	}
	for _, rt := range wire.Runtime("").Values() {
		f.Runtimes = append(f.Runtimes, string(rt))
	}
	for _, t := range wire.ImageRepositoryType("").Values() {
		f.RepositoryTypes = append(f.RepositoryTypes, string(t))
	}
	if c.cfg.Connections != nil {
		if page, err := c.cfg.Connections.FindConnections(ctx, openrunner.ConnectionFilter{}); err == nil {
			for _, conn := range page.Connections {
				if conn.Status == openrunner.ConnectionAvailable {
					f.Connections = append(f.Connections, connectionOption{ARN: conn.ARN(), Name: conn.Name, Provider: providerName(conn.ProviderType)})
				}
			}
		}
	}
	c.fillNetworkChoices(ctx, &f.networkForm)
	if a, err := c.api(); err == nil {
		in := &wire.ListAutoScalingConfigurationsInput{MaxResults: wire.Ptr(int32(100))}
		if out, err := call(ctx, in, a.ListAutoScalingConfigurations); err == nil {
			for _, s := range out.AutoScalingConfigurationSummaryList {
				label := fmt.Sprintf("%s · revision %d", wire.Deref(s.AutoScalingConfigurationName), wire.Deref(s.AutoScalingConfigurationRevision))
				if wire.Deref(s.IsDefault) {
					label += " (default)"
				}
				f.ASCs = append(f.ASCs, option{Value: wire.Deref(s.AutoScalingConfigurationArn), Label: label})
			}
		}
	}
}

// renderForm shows the create or edit form.
func (c *Console) renderForm(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView, status int, f serviceForm) {
	c.fillChoices(ctx, &f)
	title := "Create service"
	if f.Edit {
		title = "Edit " + f.Name
	}
	l := layout{Title: title, Flashes: c.sessions.takeFlashes(s.key), Page: f}
	c.fillHeader(&l, s, pathServices)
	c.render(w, r, status, "serviceform", l)
}

// handleCreateServicePage shows an empty create form; ?connection=
// preselects a source-code repository from that connection.
func (c *Console) handleCreateServicePage(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	f := defaultForm()
	f.ShowIngress = c.canAddIngress(ctx, "")
	if conn := r.URL.Query().Get("connection"); conn != "" {
		f.SourceType, f.Connection, f.Deployment = "code", conn, "auto"
	}
	c.renderForm(w, r, ctx, s, http.StatusOK, f)
}

// handleCreateService runs CreateService with the form, and goes to the
// new service's Logs tab to watch its deployment.
func (c *Console) handleCreateService(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	f := defaultForm()
	f.readForm(r.PostForm)
	f.ShowIngress = c.canAddIngress(ctx, "")
	in := f.createInput()
	f.checkIngress(fmt.Sprintf("arn:aws:apprunner:%s:%s:service/%s/%032d", s.region, s.accountID, "placeholder", 0))
	if f.Errors == nil {
		a, err := c.api()
		if err == nil {
			var out *wire.CreateServiceOutput
			if out, err = call(ctx, in, a.CreateService); err == nil {
				arn := wire.Deref(out.Service.ServiceArn)
				c.logger.Info("console: service created", "account", s.accountID, "arn", arn)
				c.sessions.addFlash(s.key, "success", fmt.Sprintf("Service %s is being created: operation %s.", f.Name, wire.Deref(out.OperationId)))
				c.addIngress(ctx, r, s, &f, arn)
				http.Redirect(w, r, serviceURL(arn, "logs"), http.StatusSeeOther)
				return
			}
		}
		f.placeError(c.storeError(r, "creating a service", err))
	}
	c.renderForm(w, r, ctx, s, http.StatusBadRequest, f)
}

// formFromService is the edit form of a service as DescribeService shows it.
func formFromService(svc *wire.Service) serviceForm {
	f := defaultForm()
	f.Edit, f.ARN, f.Name = true, wire.Deref(svc.ServiceArn), wire.Deref(svc.ServiceName)
	f.networkForm = networkFromService(svc)
	if src := svc.SourceConfiguration; src != nil {
		if wire.Deref(src.AutoDeploymentsEnabled) {
			f.Deployment = "auto"
		}
		if img := src.ImageRepository; img != nil {
			f.SourceType, f.ImageIdentifier, f.ImageRepositoryType = "image", wire.Deref(img.ImageIdentifier), string(wire.Deref(img.ImageRepositoryType))
			if ic := img.ImageConfiguration; ic != nil {
				f.ImagePort, f.ImageStart, f.Env = wire.Deref(ic.Port), wire.Deref(ic.StartCommand), pairs(ic.RuntimeEnvironmentVariables)
			}
		}
		if cr := src.CodeRepository; cr != nil {
			f.SourceType, f.RepositoryURL, f.SourceDirectory = "code", wire.Deref(cr.RepositoryUrl), wire.Deref(cr.SourceDirectory)
			if v := cr.SourceCodeVersion; v != nil {
				f.Branch = wire.Deref(v.Value)
			}
			if cc := cr.CodeConfiguration; cc != nil {
				f.ConfigSource = string(wire.Deref(cc.ConfigurationSource))
				if v := cc.CodeConfigurationValues; v != nil {
					f.Runtime, f.BuildCommand, f.CodeStart, f.CodePort = string(wire.Deref(v.Runtime)), wire.Deref(v.BuildCommand), wire.Deref(v.StartCommand), wire.Deref(v.Port)
					f.Env = pairs(v.RuntimeEnvironmentVariables)
				}
			}
		}
		if a := src.AuthenticationConfiguration; a != nil {
			f.Connection = wire.Deref(a.ConnectionArn)
		}
	}
	if ic := svc.InstanceConfiguration; ic != nil {
		f.Size = wire.Deref(ic.Cpu) + "/" + wire.Deref(ic.Memory)
	}
	if hc := svc.HealthCheckConfiguration; hc != nil {
		f.HCProtocol, f.HCPath = string(wire.Deref(hc.Protocol)), wire.Deref(hc.Path)
		f.HCInterval, f.HCTimeout, f.HCHealthy, f.HCUnhealthy = num(hc.Interval), num(hc.Timeout), num(hc.HealthyThreshold), num(hc.UnhealthyThreshold)
	}
	if a := svc.AutoScalingConfigurationSummary; a != nil {
		f.ASC = wire.Deref(a.AutoScalingConfigurationArn)
	}
	return f
}

// pairs writes a map as NAME=value lines, in name order.
func pairs(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

// handleEditServicePage shows the edit form of a service.
func (c *Console) handleEditServicePage(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	svc, err := c.describe(ctx, r.URL.Query().Get("arn"))
	if err != nil {
		c.failTo(w, r, s, pathServices, c.storeError(r, "finding a service", err))
		return
	}
	f := formFromService(svc)
	f.ShowIngress = c.canAddIngress(ctx, f.ARN)
	c.renderForm(w, r, ctx, s, http.StatusOK, f)
}

// handleEditService runs UpdateService with the form.
func (c *Console) handleEditService(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	svc, err := c.describe(ctx, r.PostForm.Get("arn"))
	if err != nil {
		c.failTo(w, r, s, pathServices, c.storeError(r, "finding a service", err))
		return
	}
	f := formFromService(svc)
	// The service's source kind and name cannot change.
	kind := f.SourceType
	f.readForm(r.PostForm)
	f.SourceType, f.Name = kind, wire.Deref(svc.ServiceName)
	f.ShowIngress = c.canAddIngress(ctx, f.ARN)
	in := f.updateInput()
	f.checkIngress(f.ARN)
	if f.Errors == nil {
		a, _ := c.api()
		out, err := call(ctx, in, a.UpdateService)
		if err == nil {
			c.logger.Info("console: service updated", "account", s.accountID, "arn", f.ARN)
			c.sessions.addFlash(s.key, "success", fmt.Sprintf("Service %s is being updated: operation %s.", f.Name, wire.Deref(out.OperationId)))
			c.addIngress(ctx, r, s, &f, f.ARN)
			http.Redirect(w, r, serviceURL(f.ARN, "logs"), http.StatusSeeOther)
			return
		}
		f.placeError(c.storeError(r, "updating a service", err))
	}
	c.renderForm(w, r, ctx, s, http.StatusBadRequest, f)
}

// placeError shows an API error next to the fields it concerns: each
// violation of a validation message by its member path, other messages by
// what they speak of; the rest above the form.
func (f *serviceForm) placeError(msg string) {
	violations, ok := splitViolations(msg)
	if !ok {
		f.fail(f.fieldOfMessage(msg), msg)
		return
	}
	for _, v := range violations {
		f.fail(f.fieldOfPath(violationPath(v)), v)
	}
}

// fieldOfPath maps a validation path to the form field showing it.
func (f *serviceForm) fieldOfPath(path string) string {
	p := strings.ToLower(path)
	last := p[strings.LastIndex(p, ".")+1:]
	switch {
	case p == "servicename":
		return "service_name"
	case strings.HasPrefix(p, "tags"):
		return "tags"
	case strings.HasPrefix(p, "instanceconfiguration"):
		return "size"
	case strings.HasPrefix(p, "autoscalingconfigurationarn"):
		return "asc"
	case strings.HasPrefix(p, "networkconfiguration.ingress"):
		return "ingress"
	case strings.HasPrefix(p, "networkconfiguration.egress"):
		return "egress"
	case strings.HasPrefix(p, "networkconfiguration"):
		return "ip_type"
	case strings.HasPrefix(p, "observabilityconfiguration"):
		return "observability"
	case strings.HasPrefix(p, "healthcheckconfiguration"):
		return map[string]string{"protocol": "hc_protocol", "path": "hc_path", "interval": "hc_interval", "timeout": "hc_timeout",
			"healthythreshold": "hc_healthy", "unhealthythreshold": "hc_unhealthy"}[last]
	case strings.Contains(p, "runtimeenvironment"):
		return "env"
	case strings.Contains(p, "connectionarn"):
		return "connection"
	case strings.Contains(p, "imagerepository"):
		return map[string]string{"imageidentifier": "image_identifier", "imagerepositorytype": "image_repository_type",
			"port": "image_port", "startcommand": "image_start"}[last]
	case strings.Contains(p, "coderepository"):
		return map[string]string{"repositoryurl": "repository_url", "value": "branch", "sourcedirectory": "source_directory",
			"configurationsource": "config_source", "runtime": "runtime", "buildcommand": "build_command",
			"startcommand": "code_start", "port": "code_port"}[last]
	}
	return ""
}

// fieldOfMessage maps a domain error message to the field it concerns.
func (f *serviceForm) fieldOfMessage(msg string) string {
	m := strings.ToLower(msg)
	port := "image_port"
	if f.SourceType == "code" {
		port = "code_port"
	}
	for _, k := range []struct{ word, field string }{
		{"service named", "service_name"}, {"cpu", "size"}, {"memory", "size"}, {"the port", port},
		{"environment variable", "env"}, {"isn't on", "repository_url"}, {"connection", "connection"}, {"repository url", "repository_url"},
		{"branch", "branch"}, {"sourcedirectory", "source_directory"}, {"auto scaling", "asc"},
		{"codeconfigurationvalues", "runtime"}, {"vpc connector", "egress"}, {"vpcconnector", "egress"},
		{"observability", "observability"}, {"ingress", "ingress"}, {"tag", "tags"},
	} {
		if strings.Contains(m, k.word) {
			return k.field
		}
	}
	return ""
}

// splitViolations splits "N validation errors detected: A; B" into its
// violations.
func splitViolations(msg string) ([]string, bool) {
	_, rest, ok := strings.Cut(msg, " detected: ")
	if !ok || !strings.Contains(msg, "validation error") {
		return nil, false
	}
	parts := strings.Split(rest, "; Value ")
	for i := 1; i < len(parts); i++ {
		parts[i] = "Value " + parts[i]
	}
	return parts, true
}

// violationPath is the member path of "Value … at 'path' failed …".
func violationPath(v string) string {
	_, rest, ok := strings.Cut(v, " at '")
	if !ok {
		return ""
	}
	path, _, _ := strings.Cut(rest, "' failed")
	return path
}
