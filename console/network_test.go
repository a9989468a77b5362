package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/sqlite"
)

// TestCreateServiceIngressAndObservability: a private service's VPC
// ingress connection is checked before the service is created and created
// with it; observability needs a configuration; both show in the
// Configuration tab.
func TestCreateServiceIngressAndObservability(t *testing.T) {
	e := newEnv(t, nil)
	withAPI(e)
	srv := e.console.cfg.API.(*api.Server)
	srv.VPC, srv.Observability = sqlite.NewVPCService(e.db), sqlite.NewObservabilityConfigurationService(e.db)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	page := b.get(pathServiceCreate)
	wantHTML(t, page, `id="ingress_name"`)
	wantHTML(t, page, `id="observability_enabled"`)
	wantText(t, page, "No observability configuration in this Region")

	form := url.Values{"source_type": {"image"}, "service_name": {"private-one"}, "image_identifier": {"/srv/app"},
		"image_repository_type": {"ECR"}, "image_port": {"8080"}, "size": {"1024/2048"}, "hc_protocol": {"TCP"}, "hc_path": {"/"},
		"hc_interval": {"5"}, "hc_timeout": {"2"}, "hc_healthy": {"1"}, "hc_unhealthy": {"5"}, "ingress": {"private"}, "ip_type": {"IPV4"},
		"egress": {""}, "observability": {""}, "ingress_name": {"private-in"}, "ingress_vpc": {"vpc-1"}, "ingress_endpoint": {""}}
	resp := b.post(pathServiceCreate, form)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %s", resp.Status)
	}
	wantHTML(t, resp, `id="ingress_endpoint-error">IngressVpcConfiguration.VpcEndpointId is required.`)
	services := sqlite.NewServiceService(e.db)
	if page, err := services.FindServices(scope(testAccount, defaultRegion), openrunner.ServiceFilter{}); err != nil || len(page.Services) != 0 {
		t.Fatalf("a refused connection created a service: %+v, %v", page, err)
	}

	form.Set("ingress_endpoint", "vpce-1")
	form.Set("observability_enabled", "on")
	wantHTML(t, b.post(pathServiceCreate, form), `id="observability-error">ObservabilityConfigurationArn is required when ObservabilityEnabled is true.`)

	form.Del("observability_enabled")
	resp = b.post(pathServiceCreate, form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %s\n%s", resp.Status, resp.Body)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(resp.Header.Get("Location"), pathService+"?"))
	conns, err := srv.VPC.FindVpcIngressConnections(scope(testAccount, defaultRegion), openrunner.VpcIngressConnectionFilter{ServiceARN: strPtr(q.Get("arn"))})
	if err != nil || len(conns.Connections) != 1 || conns.Connections[0].Name != "private-in" || conns.Connections[0].VpcEndpointID != "vpce-1" {
		t.Fatalf("ingress connections %+v, %v", conns, err)
	}
	page = b.get(resp.Header.Get("Location"))
	wantText(t, page, "VPC ingress connection private-in is being created")
	cfg := b.get(serviceURL(q.Get("arn"), "configuration"))
	wantText(t, cfg, "private-in · PENDING_CREATION")
	wantText(t, cfg, conns.Connections[0].DomainName)
	// The edit form offers no second connection.
	wantNoText(t, b.get(pathServiceEdit+"?arn="+url.QueryEscape(q.Get("arn"))), "VPC ingress connection name")
}

func strPtr(s string) *string { return &s }
