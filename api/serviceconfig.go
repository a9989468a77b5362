package api

import (
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Service configuration between the wire and the domain: defaults,
// normalization and the checks the model's constraints cannot express.
// Choices where App Runner is unconfirmed are in docs/decisions.md.

// Defaults of a new service's configuration.
const (
	DefaultCPU    = "1024" // 1 vCPU
	DefaultMemory = "2048" // 2 GB
	DefaultPort   = "8080"
)

// DefaultHealthCheck is the health check of a service that sets none: the
// model's documented defaults (App Runner's real ones are unconfirmed).
var DefaultHealthCheck = openrunner.HealthCheckConfig{
	Protocol: "TCP", Path: "/", Interval: 5, Timeout: 2, HealthyThreshold: 1, UnhealthyThreshold: 5,
}

// cpuUnits and memoryMB map every accepted spelling to App Runner's numeric
// form, which the API returns.
var (
	cpuUnits = map[string]string{
		"256": "256", "512": "512", "1024": "1024", "2048": "2048", "4096": "4096",
		"0.25 vCPU": "256", "0.5 vCPU": "512", "1 vCPU": "1024", "2 vCPU": "2048", "4 vCPU": "4096",
	}
	memoryMB = map[string]string{
		"512": "512", "1024": "1024", "2048": "2048", "3072": "3072", "4096": "4096", "6144": "6144",
		"8192": "8192", "10240": "10240", "12288": "12288",
		"0.5 GB": "512", "1 GB": "1024", "2 GB": "2048", "3 GB": "3072", "4 GB": "4096", "6 GB": "6144",
		"8 GB": "8192", "10 GB": "10240", "12 GB": "12288",
	}
	// validPairs are App Runner's CPU/memory combinations (Developer Guide).
	validPairs = map[[2]string]bool{
		{"256", "512"}: true, {"256", "1024"}: true, {"512", "1024"}: true,
		{"1024", "2048"}: true, {"1024", "3072"}: true, {"1024", "4096"}: true,
		{"2048", "4096"}: true, {"2048", "6144"}: true,
		{"4096", "8192"}: true, {"4096", "10240"}: true, {"4096", "12288"}: true,
	}
)

// applyInstance merges a wire InstanceConfiguration into cur (nil members
// keep cur's values), normalizes Cpu and Memory and checks the pair.
func applyInstance(cur openrunner.InstanceConfig, in *wire.InstanceConfiguration) (openrunner.InstanceConfig, error) {
	out := cur
	if out.CPU == "" {
		out.CPU = DefaultCPU
	}
	if out.Memory == "" {
		out.Memory = DefaultMemory
	}
	if in != nil {
		if in.Cpu != nil {
			v, ok := cpuUnits[strings.TrimSpace(*in.Cpu)]
			if !ok {
				return cur, openrunner.Errorf(openrunner.EINVALID, "The CPU value '%s' isn't valid. Use 256, 512, 1024, 2048 or 4096 (or 0.25, 0.5, 1, 2 or 4 vCPU).", openrunner.Truncate(*in.Cpu, 50))
			}
			out.CPU = v
		}
		if in.Memory != nil {
			v, ok := memoryMB[strings.TrimSpace(*in.Memory)]
			if !ok {
				return cur, openrunner.Errorf(openrunner.EINVALID, "The memory value '%s' isn't valid. Use 512 to 12288 MB (or 0.5 to 12 GB) as App Runner lists them.", openrunner.Truncate(*in.Memory, 50))
			}
			out.Memory = v
		}
		if in.InstanceRoleArn != nil {
			out.InstanceRoleARN = *in.InstanceRoleArn
		}
	}
	if !validPairs[[2]string{out.CPU, out.Memory}] {
		return cur, openrunner.Errorf(openrunner.EINVALID,
			"The combination of %s CPU units and %s MB of memory isn't supported. Supported: 0.25 vCPU with 0.5 or 1 GB; 0.5 vCPU with 1 GB; 1 vCPU with 2, 3 or 4 GB; 2 vCPU with 4 or 6 GB; 4 vCPU with 8, 10 or 12 GB.",
			out.CPU, out.Memory)
	}
	return out, nil
}

// applyHealthCheck merges a wire HealthCheckConfiguration into cur.
func applyHealthCheck(cur openrunner.HealthCheckConfig, in *wire.HealthCheckConfiguration) openrunner.HealthCheckConfig {
	out := cur
	if out.Protocol == "" {
		out = DefaultHealthCheck
	}
	if in == nil {
		return out
	}
	if in.Protocol != nil {
		out.Protocol = string(*in.Protocol)
	}
	if in.Path != nil {
		out.Path = *in.Path
	}
	setInt := func(dst *int, v *int32) {
		if v != nil {
			*dst = int(*v)
		}
	}
	setInt(&out.Interval, in.Interval)
	setInt(&out.Timeout, in.Timeout)
	setInt(&out.HealthyThreshold, in.HealthyThreshold)
	setInt(&out.UnhealthyThreshold, in.UnhealthyThreshold)
	return out
}

// applyNetwork merges a wire NetworkConfiguration into cur.
func applyNetwork(cur openrunner.NetworkConfig, in *wire.NetworkConfiguration) (openrunner.NetworkConfig, error) {
	out := cur
	if out.EgressType == "" {
		out = openrunner.NetworkConfig{EgressType: "DEFAULT", IsPubliclyAccessible: true, IPAddressType: "IPV4"}
	}
	if in == nil {
		return out, nil
	}
	if e := in.EgressConfiguration; e != nil {
		if e.EgressType != nil {
			out.EgressType = string(*e.EgressType)
		}
		if e.VpcConnectorArn != nil {
			out.VpcConnectorARN = *e.VpcConnectorArn
		}
	}
	if i := in.IngressConfiguration; i != nil {
		// The model's default is false, and SDKs leave a false value out:
		// an IngressConfiguration without it makes the service private.
		out.IsPubliclyAccessible = wire.Deref(i.IsPubliclyAccessible)
	}
	if in.IpAddressType != nil {
		out.IPAddressType = string(*in.IpAddressType)
	}
	if out.EgressType == "VPC" && out.VpcConnectorARN == "" {
		return cur, openrunner.Errorf(openrunner.EINVALID, "EgressType VPC requires a VpcConnectorArn.")
	}
	if out.EgressType == "DEFAULT" {
		out.VpcConnectorARN = ""
	}
	return out, nil
}

// applyObservability replaces the observability configuration when given.
func applyObservability(cur openrunner.ObservabilityConfig, in *wire.ServiceObservabilityConfiguration) openrunner.ObservabilityConfig {
	if in == nil {
		return cur
	}
	out := openrunner.ObservabilityConfig{Enabled: wire.Deref(in.ObservabilityEnabled)}
	if out.Enabled {
		out.ConfigurationARN = wire.Deref(in.ObservabilityConfigurationArn)
	}
	return out
}

// applySource merges a wire SourceConfiguration into cur. creating is true
// for CreateService, where exactly one repository is required; an update
// may change the repository's settings but not switch between code and
// image.
func applySource(cur openrunner.SourceConfig, in *wire.SourceConfiguration, creating bool) (openrunner.SourceConfig, error) {
	out := cur
	if in == nil {
		return out, nil
	}
	switch {
	case in.ImageRepository != nil && in.CodeRepository != nil:
		return cur, openrunner.Errorf(openrunner.EINVALID, "Specify either an ImageRepository or a CodeRepository in SourceConfiguration, not both.")
	case creating && in.ImageRepository == nil && in.CodeRepository == nil:
		return cur, openrunner.Errorf(openrunner.EINVALID, "SourceConfiguration needs an ImageRepository or a CodeRepository.")
	case !creating && in.ImageRepository != nil && cur.Code != nil, !creating && in.CodeRepository != nil && cur.Image != nil:
		return cur, openrunner.Errorf(openrunner.EINVALID, "You can't switch a service between a source code repository and a source image repository. Create a new service instead.")
	}
	if r := in.ImageRepository; r != nil {
		img := &openrunner.ImageSource{
			Identifier:     wire.Deref(r.ImageIdentifier),
			RepositoryType: string(wire.Deref(r.ImageRepositoryType)),
			Port:           DefaultPort,
		}
		if c := r.ImageConfiguration; c != nil {
			if c.Port != nil {
				img.Port = *c.Port
			}
			img.Env = c.RuntimeEnvironmentVariables
			img.Secrets = c.RuntimeEnvironmentSecrets
			img.StartCommand = wire.Deref(c.StartCommand)
		}
		if err := checkPort(img.Port); err != nil {
			return cur, err
		}
		if err := checkEnv(img.Env, img.Secrets); err != nil {
			return cur, err
		}
		out.Image = img
		if creating || in.AutoDeploymentsEnabled == nil {
			out.AutoDeploymentsEnabled = img.RepositoryType != "ECR_PUBLIC"
		}
	}
	if r := in.CodeRepository; r != nil {
		code := &openrunner.CodeSource{
			RepositoryURL:   wire.Deref(r.RepositoryUrl),
			SourceDirectory: wire.Deref(r.SourceDirectory),
		}
		if v := r.SourceCodeVersion; v != nil {
			code.VersionType, code.VersionValue = string(wire.Deref(v.Type)), wire.Deref(v.Value)
		}
		if c := r.CodeConfiguration; c != nil {
			code.ConfigurationSource = string(wire.Deref(c.ConfigurationSource))
			if v := c.CodeConfigurationValues; v != nil {
				code.Values = &openrunner.CodeValues{
					Runtime:      string(wire.Deref(v.Runtime)),
					BuildCommand: wire.Deref(v.BuildCommand),
					StartCommand: wire.Deref(v.StartCommand),
					Port:         wire.Deref(v.Port),
					Env:          v.RuntimeEnvironmentVariables,
					Secrets:      v.RuntimeEnvironmentSecrets,
				}
				if code.Values.Port == "" {
					code.Values.Port = DefaultPort
				}
				if err := checkPort(code.Values.Port); err != nil {
					return cur, err
				}
				if err := checkEnv(code.Values.Env, code.Values.Secrets); err != nil {
					return cur, err
				}
			}
		}
		if err := openrunner.CheckRepositoryURL(code.RepositoryURL); err != nil {
			return cur, err
		}
		if code.VersionType != "BRANCH" {
			return cur, openrunner.Errorf(openrunner.EINVALID, "SourceCodeVersion.Type must be BRANCH.")
		}
		if err := openrunner.CheckBranch(code.VersionValue); err != nil {
			return cur, err
		}
		if strings.Contains("/"+code.SourceDirectory+"/", "/../") {
			return cur, openrunner.Errorf(openrunner.EINVALID, "SourceDirectory must be a directory of the repository, without \"..\": %s", openrunner.Truncate(code.SourceDirectory, 200))
		}
		if code.ConfigurationSource == "API" && code.Values == nil {
			return cur, openrunner.Errorf(openrunner.EINVALID, "CodeConfiguration with ConfigurationSource API needs CodeConfigurationValues.")
		}
		if code.ConfigurationSource == "" {
			return cur, openrunner.Errorf(openrunner.EINVALID, "CodeRepository needs a CodeConfiguration with a ConfigurationSource (REPOSITORY or API).")
		}
		out.Code = code
		if creating || in.AutoDeploymentsEnabled == nil {
			out.AutoDeploymentsEnabled = true
		}
	}
	if in.AutoDeploymentsEnabled != nil {
		out.AutoDeploymentsEnabled = *in.AutoDeploymentsEnabled
	}
	if a := in.AuthenticationConfiguration; a != nil {
		if a.AccessRoleArn != nil {
			out.AccessRoleARN = *a.AccessRoleArn
		}
		if a.ConnectionArn != nil {
			out.ConnectionARN = *a.ConnectionArn
		}
	}
	if out.Code != nil && out.ConnectionARN == "" {
		return cur, openrunner.Errorf(openrunner.EINVALID, "A service with a CodeRepository needs AuthenticationConfiguration.ConnectionArn.")
	}
	return out, nil
}

// checkPort accepts a TCP port number 1–65535.
func checkPort(p string) error {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' || n > 65535 {
			n = -1
			break
		}
		n = n*10 + int(c-'0')
	}
	if p == "" || n < 1 || n > 65535 {
		return openrunner.Errorf(openrunner.EINVALID, "The port '%s' isn't valid. Use a number from 1 to 65535.", openrunner.Truncate(p, 20))
	}
	return nil
}

// checkEnv rejects environment names App Runner reserves or a process
// cannot carry. PORT is allowed: the runtime sets it to the configured port
// after the service's own variables, so the configured port wins.
func checkEnv(vars ...map[string]string) error {
	for _, m := range vars {
		for k := range m {
			switch {
			case k == "" || strings.ContainsAny(k, "=\x00"):
				return openrunner.Errorf(openrunner.EINVALID, "The environment variable name '%s' isn't valid.", openrunner.Truncate(k, 50))
			case strings.HasPrefix(k, "AWSAPPRUNNER"):
				return openrunner.Errorf(openrunner.EINVALID, "Environment variable names starting with AWSAPPRUNNER are reserved: %s", openrunner.Truncate(k, 50))
			}
		}
	}
	return nil
}

// wireServiceConfig fills the configuration members of a wire Service.
func wireServiceConfig(out *wire.Service, c openrunner.ServiceConfig) {
	src := &wire.SourceConfiguration{AutoDeploymentsEnabled: wire.Ptr(c.Source.AutoDeploymentsEnabled)}
	if c.Source.AccessRoleARN != "" || c.Source.ConnectionARN != "" {
		src.AuthenticationConfiguration = &wire.AuthenticationConfiguration{}
		if c.Source.AccessRoleARN != "" {
			src.AuthenticationConfiguration.AccessRoleArn = wire.Ptr(c.Source.AccessRoleARN)
		}
		if c.Source.ConnectionARN != "" {
			src.AuthenticationConfiguration.ConnectionArn = wire.Ptr(c.Source.ConnectionARN)
		}
	}
	if img := c.Source.Image; img != nil {
		ic := &wire.ImageConfiguration{
			Port:                        wire.Ptr(img.Port),
			RuntimeEnvironmentVariables: img.Env,
			RuntimeEnvironmentSecrets:   img.Secrets,
		}
		if img.StartCommand != "" {
			ic.StartCommand = wire.Ptr(img.StartCommand)
		}
		src.ImageRepository = &wire.ImageRepository{
			ImageIdentifier:     wire.Ptr(img.Identifier),
			ImageRepositoryType: wire.Ptr(wire.ImageRepositoryType(img.RepositoryType)),
			ImageConfiguration:  ic,
		}
	}
	if code := c.Source.Code; code != nil {
		cr := &wire.CodeRepository{
			RepositoryUrl: wire.Ptr(code.RepositoryURL),
			SourceCodeVersion: &wire.SourceCodeVersion{
				Type: wire.Ptr(wire.SourceCodeVersionType(code.VersionType)), Value: wire.Ptr(code.VersionValue),
			},
			CodeConfiguration: &wire.CodeConfiguration{ConfigurationSource: wire.Ptr(wire.ConfigurationSource(code.ConfigurationSource))},
		}
		if code.SourceDirectory != "" {
			cr.SourceDirectory = wire.Ptr(code.SourceDirectory)
		}
		if v := code.Values; v != nil {
			vals := &wire.CodeConfigurationValues{
				Runtime:                     wire.Ptr(wire.Runtime(v.Runtime)),
				Port:                        wire.Ptr(v.Port),
				RuntimeEnvironmentVariables: v.Env,
				RuntimeEnvironmentSecrets:   v.Secrets,
			}
			if v.BuildCommand != "" {
				vals.BuildCommand = wire.Ptr(v.BuildCommand)
			}
			if v.StartCommand != "" {
				vals.StartCommand = wire.Ptr(v.StartCommand)
			}
			cr.CodeConfiguration.CodeConfigurationValues = vals
		}
		src.CodeRepository = cr
	}
	out.SourceConfiguration = src

	inst := &wire.InstanceConfiguration{Cpu: wire.Ptr(c.Instance.CPU), Memory: wire.Ptr(c.Instance.Memory)}
	if c.Instance.InstanceRoleARN != "" {
		inst.InstanceRoleArn = wire.Ptr(c.Instance.InstanceRoleARN)
	}
	out.InstanceConfiguration = inst

	hc := c.HealthCheck
	out.HealthCheckConfiguration = &wire.HealthCheckConfiguration{
		Protocol: wire.Ptr(wire.HealthCheckProtocol(hc.Protocol)), Path: wire.Ptr(hc.Path),
		Interval: wire.Ptr(int32(hc.Interval)), Timeout: wire.Ptr(int32(hc.Timeout)),
		HealthyThreshold: wire.Ptr(int32(hc.HealthyThreshold)), UnhealthyThreshold: wire.Ptr(int32(hc.UnhealthyThreshold)),
	}

	n := c.Network
	egress := &wire.EgressConfiguration{EgressType: wire.Ptr(wire.EgressType(n.EgressType))}
	if n.VpcConnectorARN != "" {
		egress.VpcConnectorArn = wire.Ptr(n.VpcConnectorARN)
	}
	out.NetworkConfiguration = &wire.NetworkConfiguration{
		EgressConfiguration:  egress,
		IngressConfiguration: &wire.IngressConfiguration{IsPubliclyAccessible: wire.Ptr(n.IsPubliclyAccessible)},
		IpAddressType:        wire.Ptr(wire.IpAddressType(n.IPAddressType)),
	}

	obs := &wire.ServiceObservabilityConfiguration{ObservabilityEnabled: wire.Ptr(c.Observability.Enabled)}
	if c.Observability.ConfigurationARN != "" {
		obs.ObservabilityConfigurationArn = wire.Ptr(c.Observability.ConfigurationARN)
	}
	out.ObservabilityConfiguration = obs
}
