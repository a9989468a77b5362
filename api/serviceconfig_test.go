package api

import (
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

func TestApplyInstance(t *testing.T) {
	for _, tc := range []struct {
		cpu, mem         *string
		wantCPU, wantMem string
		err              string
	}{
		{nil, nil, "1024", "2048", ""},
		{wire.Ptr("1 vCPU"), wire.Ptr("3 GB"), "1024", "3072", ""},
		{wire.Ptr("0.25 vCPU"), wire.Ptr("0.5 GB"), "256", "512", ""},
		{wire.Ptr("4096"), wire.Ptr("12 GB"), "4096", "12288", ""},
		{wire.Ptr("2 vCPU"), nil, "", "", "combination of 2048 CPU units and 2048 MB"},
		{wire.Ptr("0.25 vCPU"), wire.Ptr("2 GB"), "", "", "isn't supported"},
		{wire.Ptr("3 vCPU"), nil, "", "", "The CPU value '3 vCPU' isn't valid"},
		{nil, wire.Ptr("5 GB"), "", "", "The memory value '5 GB' isn't valid"},
	} {
		got, err := applyInstance(openrunner.InstanceConfig{}, &wire.InstanceConfiguration{Cpu: tc.cpu, Memory: tc.mem})
		if tc.err != "" {
			if err == nil || !strings.Contains(openrunner.ErrorMessage(err), tc.err) {
				t.Errorf("%v/%v: error %v, want %q", wire.Deref(tc.cpu), wire.Deref(tc.mem), err, tc.err)
			}
			continue
		}
		if err != nil || got.CPU != tc.wantCPU || got.Memory != tc.wantMem {
			t.Errorf("%v/%v: %+v, %v", wire.Deref(tc.cpu), wire.Deref(tc.mem), got, err)
		}
	}
	// A partial update keeps what it does not name.
	cur := openrunner.InstanceConfig{CPU: "2048", Memory: "4096", InstanceRoleARN: "arn:aws:iam::123456789012:role/r"}
	got, err := applyInstance(cur, &wire.InstanceConfiguration{Memory: wire.Ptr("6 GB")})
	if err != nil || got.CPU != "2048" || got.Memory != "6144" || got.InstanceRoleARN != cur.InstanceRoleARN {
		t.Fatalf("partial update: %+v, %v", got, err)
	}
}

func TestApplySource(t *testing.T) {
	img := &wire.SourceConfiguration{ImageRepository: &wire.ImageRepository{
		ImageIdentifier: wire.Ptr("public.ecr.aws/nginx/nginx:latest"), ImageRepositoryType: wire.Ptr(wire.ImageRepositoryTypeEcrPublic),
	}}
	got, err := applySource(openrunner.SourceConfig{}, img, true)
	if err != nil || got.Image.Port != "8080" || got.AutoDeploymentsEnabled {
		t.Fatalf("ECR_PUBLIC image: %+v, %v (default port 8080, no auto deployments)", got, err)
	}
	ecr := &wire.SourceConfiguration{ImageRepository: &wire.ImageRepository{
		ImageIdentifier: wire.Ptr("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"), ImageRepositoryType: wire.Ptr(wire.ImageRepositoryTypeEcr),
		ImageConfiguration: &wire.ImageConfiguration{Port: wire.Ptr("3000"), RuntimeEnvironmentVariables: map[string]string{"A": "1"}, StartCommand: wire.Ptr("./app --x")},
	}}
	got, err = applySource(openrunner.SourceConfig{}, ecr, true)
	if err != nil || got.Image.Port != "3000" || got.Image.Env["A"] != "1" || got.Image.StartCommand != "./app --x" || !got.AutoDeploymentsEnabled {
		t.Fatalf("ECR image: %+v, %v", got.Image, err)
	}

	for name, tc := range map[string]struct {
		cur  openrunner.SourceConfig
		in   *wire.SourceConfiguration
		err  string
		code bool
	}{
		"Neither":  {in: &wire.SourceConfiguration{}, err: "needs an ImageRepository or a CodeRepository"},
		"Both":     {in: &wire.SourceConfiguration{ImageRepository: img.ImageRepository, CodeRepository: &wire.CodeRepository{}}, err: "not both"},
		"BadPort":  {in: &wire.SourceConfiguration{ImageRepository: &wire.ImageRepository{ImageIdentifier: wire.Ptr("x"), ImageRepositoryType: wire.Ptr(wire.ImageRepositoryTypeEcr), ImageConfiguration: &wire.ImageConfiguration{Port: wire.Ptr("99999")}}}, err: "port '99999'"},
		"Reserved": {in: &wire.SourceConfiguration{ImageRepository: &wire.ImageRepository{ImageIdentifier: wire.Ptr("x"), ImageRepositoryType: wire.Ptr(wire.ImageRepositoryTypeEcr), ImageConfiguration: &wire.ImageConfiguration{RuntimeEnvironmentVariables: map[string]string{"AWSAPPRUNNER_X": "1"}}}}, err: "reserved"},
		"CodeNeedsConnection": {in: &wire.SourceConfiguration{CodeRepository: &wire.CodeRepository{
			RepositoryUrl: wire.Ptr("https://github.com/o/r"), SourceCodeVersion: &wire.SourceCodeVersion{Type: wire.Ptr(wire.SourceCodeVersionTypeBranch), Value: wire.Ptr("main")},
			CodeConfiguration: &wire.CodeConfiguration{ConfigurationSource: wire.Ptr(wire.ConfigurationSourceRepository)},
		}}, err: "ConnectionArn"},
		"SwitchOnUpdate": {cur: openrunner.SourceConfig{Image: &openrunner.ImageSource{Identifier: "x"}}, in: &wire.SourceConfiguration{CodeRepository: &wire.CodeRepository{}}, err: "can't switch"},
	} {
		_, err := applySource(tc.cur, tc.in, tc.cur.Image == nil)
		if err == nil || !strings.Contains(openrunner.ErrorMessage(err), tc.err) {
			t.Errorf("%s: %v, want %q", name, err, tc.err)
		}
	}
}

func TestWireServiceConfigRoundTrip(t *testing.T) {
	src, err := applySource(openrunner.SourceConfig{}, &wire.SourceConfiguration{
		AutoDeploymentsEnabled: wire.Ptr(false),
		ImageRepository: &wire.ImageRepository{
			ImageIdentifier: wire.Ptr("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"), ImageRepositoryType: wire.Ptr(wire.ImageRepositoryTypeEcr),
			ImageConfiguration: &wire.ImageConfiguration{Port: wire.Ptr("9000"), RuntimeEnvironmentVariables: map[string]string{"K": "V"}, RuntimeEnvironmentSecrets: map[string]string{"S": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}},
		},
		AuthenticationConfiguration: &wire.AuthenticationConfiguration{AccessRoleArn: wire.Ptr("arn:aws:iam::123456789012:role/ecr")},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	net, err := applyNetwork(openrunner.NetworkConfig{}, &wire.NetworkConfiguration{IngressConfiguration: &wire.IngressConfiguration{IsPubliclyAccessible: wire.Ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := openrunner.ServiceConfig{
		Source:      src,
		Instance:    openrunner.InstanceConfig{CPU: "1024", Memory: "2048"},
		HealthCheck: applyHealthCheck(openrunner.HealthCheckConfig{}, &wire.HealthCheckConfiguration{Protocol: wire.Ptr(wire.HealthCheckProtocolHttp), Path: wire.Ptr("/healthz")}),
		Network:     net,
	}
	var out wire.Service
	wireServiceConfig(&out, cfg)
	// Applying what the API returns gives the same configuration back.
	src2, err := applySource(openrunner.SourceConfig{}, out.SourceConfiguration, true)
	if err != nil {
		t.Fatal(err)
	}
	if src2.Image.Port != "9000" || src2.Image.Env["K"] != "V" || src2.Image.Secrets["S"] == "" || src2.AutoDeploymentsEnabled || src2.AccessRoleARN == "" {
		t.Fatalf("source did not round-trip: %+v %+v", src2, src2.Image)
	}
	hc := applyHealthCheck(openrunner.HealthCheckConfig{}, out.HealthCheckConfiguration)
	if hc != cfg.HealthCheck || hc.Path != "/healthz" || hc.Interval != 5 {
		t.Fatalf("health check %+v, want %+v", hc, cfg.HealthCheck)
	}
	if *out.NetworkConfiguration.IngressConfiguration.IsPubliclyAccessible || *out.NetworkConfiguration.EgressConfiguration.EgressType != "DEFAULT" {
		t.Fatalf("network %+v", out.NetworkConfiguration)
	}
	if b := out.AppendJSON(nil); !strings.Contains(string(b), `"Cpu":"1024"`) {
		t.Fatalf("wire JSON: %s", b)
	}
}
