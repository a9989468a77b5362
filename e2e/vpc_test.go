package e2e_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/internal/testutil"
)

// dockerNetwork creates a Docker network with a random suffix, removed
// when the test ends.
func dockerNetwork(t *testing.T, prefix string) string {
	t.Helper()
	name := prefix + openrunner.NewID()[:12]
	if out, err := exec.Command("docker", "network", "create", name).CombinedOutput(); err != nil {
		t.Fatalf("docker network create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", name).Run() })
	return name
}

// dockerRun starts a test app container with args (docker run flags, then
// "--", then the app's own), removed when the test ends, and returns its
// name.
func dockerRun(t *testing.T, flags []string, appArgs ...string) string {
	t.Helper()
	name := "openrunner-e2e-" + openrunner.NewID()[:12]
	args := append([]string{"run", "-d", "--name", name}, flags...)
	args = append(append(args, testutil.PinnedDockerTestImage()), appArgs...)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return name
}

func fetchPath(u string) string { return "/fetch?url=" + url.QueryEscape(u) }

// TestVpcEgress: a "database" on a subnet-… network is reachable by name
// from a VPC-egress service, through a connector naming the network or a
// subnet --vpc-network maps to it, and not from a DEFAULT-egress one; a
// connector naming a missing network fails the deployment with a line
// naming it.
func TestVpcEgress(t *testing.T) {
	needDocker(t)
	subnet := dockerNetwork(t, "subnet-")
	dockerRun(t, []string{"--network", subnet, "--network-alias", "db"}, "--greeting", "rows-from-the-db")
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker", VPCNetworks: map[string]string{"subnet-mapped": subnet}})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	direct := createConnector(t, c, "direct", subnet)
	mapped := createConnector(t, c, "mapped", "subnet-mapped")
	missingNet := "subnet-missing-" + openrunner.NewID()[:8]
	missing := createConnector(t, c, "missing", missingNet)
	create := func(name string, connector *types.VpcConnector) *types.Service {
		t.Helper()
		egress := &types.EgressConfiguration{EgressType: types.EgressTypeDefault}
		if connector != nil {
			egress = &types.EgressConfiguration{EgressType: types.EgressTypeVpc, VpcConnectorArn: connector.VpcConnectorArn}
		}
		out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(name), SourceConfiguration: imageSource(testutil.PinnedDockerTestImage(), nil, ""),
			NetworkConfiguration: &types.NetworkConfiguration{EgressConfiguration: egress}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Service
	}
	services := map[string]*types.Service{
		"vpc": create("vpc-egress", direct), "mapped": create("mapped-egress", mapped),
		"default": create("default-egress", nil), "missing": create("missing-net", missing),
	}
	for name, svc := range services {
		s := waitStatus(t, c, svc.ServiceArn)
		want := types.ServiceStatusRunning
		if name == "missing" {
			want = types.ServiceStatusCreateFailed
		}
		if s.Status != want {
			t.Fatalf("%s: %s, want %s", name, s.Status, want)
		}
	}
	for _, name := range []string{"vpc", "mapped"} {
		code, body := get(t, d.RouterURL(), aws.ToString(services[name].ServiceUrl), fetchPath("http://db:8080/"))
		if code != 200 || !strings.Contains(body, "rows-from-the-db") {
			t.Fatalf("%s egress service fetching the database: %d %q", name, code, body)
		}
	}
	if code, body := get(t, d.RouterURL(), aws.ToString(services["default"].ServiceUrl), fetchPath("http://db:8080/")); code != 502 {
		t.Fatalf("DEFAULT egress service reached the database: %d %q", code, body)
	}
	log := (&sourceEnv{d: d}).serviceLog(t, aws.ToString(services["missing"].ServiceArn), false)
	if !strings.Contains(log, `Docker network "`+missingNet+`" does not exist`) {
		t.Fatalf("the failed deployment's log does not name the network:\n%s", log)
	}
	_, err := c.DeleteVpcConnector(ctx, &apprunner.DeleteVpcConnectorInput{VpcConnectorArn: direct.VpcConnectorArn})
	wantAPIError(t, err, "InvalidRequestException", "is being used by other services")

	// A running service moved onto the missing network rolls back, and its
	// DEFAULT-egress revision keeps serving.
	def := services["default"]
	if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: def.ServiceArn, NetworkConfiguration: &types.NetworkConfiguration{
		EgressConfiguration: &types.EgressConfiguration{EgressType: types.EgressTypeVpc, VpcConnectorArn: missing.VpcConnectorArn}}}); err != nil {
		t.Fatal(err)
	}
	s := waitStatus(t, c, def.ServiceArn)
	ops, err := c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: def.ServiceArn, MaxResults: aws.Int32(1)})
	if err != nil || s.Status != types.ServiceStatusRunning || ops.OperationSummaryList[0].Status != types.OperationStatusRollbackSucceeded {
		t.Fatalf("update onto a missing network: %s, %+v, %v", s.Status, ops, err)
	}
	if s.NetworkConfiguration.EgressConfiguration.EgressType != types.EgressTypeDefault {
		t.Fatalf("after the rollback: %+v", s.NetworkConfiguration.EgressConfiguration)
	}
	if code, _ := get(t, d.RouterURL(), aws.ToString(def.ServiceUrl), "/"); code != 200 {
		t.Fatalf("after the rollback the service answers %d", code)
	}
}

var (
	proxyOnce sync.Once
	proxyBin  string
	proxyErr  error
)

// ingressProxy builds the openrunner command once per test binary: the
// proxy containers of ingress connections run it ("openrunner
// ingress-proxy"), and a test binary is not it.
func ingressProxy(t *testing.T) string {
	t.Helper()
	proxyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "openrunner-proxy-")
		if err != nil {
			proxyErr = err
			return
		}
		proxyBin = filepath.Join(dir, "openrunner")
		cmd := exec.Command("go", "build", "-o", proxyBin, "github.com/openrunner/openrunner/cmd/openrunner")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			proxyErr = err
			t.Logf("%s", out)
		}
	})
	if proxyErr != nil {
		t.Fatalf("building openrunner: %v", proxyErr)
	}
	return proxyBin
}

// TestPrivateService: a service made private answers 404 on the host's
// router, and 200 to a container on its VPC ingress connection's network at
// http://<DomainName>/; the connection goes PENDING_CREATION → AVAILABLE →
// PENDING_DELETION → DELETED, keeps the service from being deleted while
// AVAILABLE, and fails on a VPC network that does not exist.
func TestPrivateService(t *testing.T) {
	needDocker(t)
	vpc := dockerNetwork(t, "vpc-")
	dir := t.TempDir()
	first := daemon.New(daemon.Config{Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", DataDir: dir, Runtime: "docker", IngressProxy: ingressProxy(t)})
	if err := first.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = first.Close()
		// Should the test end before the restart, what the first server ran.
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+docker.LabelOwner+"="+first.Owner()).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})
	d := first
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("private"), SourceConfiguration: imageSource(testutil.PinnedDockerTestImage(), nil, "/testapp --greeting private-hello")})
	if err != nil {
		t.Fatal(err)
	}
	svc := out.Service
	host := aws.ToString(svc.ServiceUrl)
	waitStatus(t, c, svc.ServiceArn)
	if code, _ := get(t, d.RouterURL(), host, "/"); code != 200 {
		t.Fatalf("public service: %d", code)
	}
	if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: svc.ServiceArn,
		NetworkConfiguration: &types.NetworkConfiguration{IngressConfiguration: &types.IngressConfiguration{IsPubliclyAccessible: false}}}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, svc.ServiceArn); s.Status != types.ServiceStatusRunning || s.ServiceUrl != nil {
		t.Fatalf("made private: %s, ServiceUrl %v", s.Status, s.ServiceUrl)
	}
	code, body := get(t, d.RouterURL(), host, "/")
	if code != 404 || strings.Contains(body, "private") || strings.Contains(body, aws.ToString(svc.ServiceId)) {
		t.Fatalf("private service on the host's router: %d %q", code, body)
	}

	created, err := c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("private-in"),
		ServiceArn: svc.ServiceArn, IngressVpcConfiguration: &types.IngressVpcConfiguration{VpcId: aws.String(vpc), VpcEndpointId: aws.String("vpce-1")}})
	if err != nil {
		t.Fatal(err)
	}
	ic := waitIngress(t, c, created.VpcIngressConnection.VpcIngressConnectionArn)
	if ic.Status != types.VpcIngressConnectionStatusAvailable {
		t.Fatalf("ingress connection: %s, want AVAILABLE", ic.Status)
	}
	domain := aws.ToString(ic.DomainName)
	// DescribeCustomDomains names the connection as the service's VPC DNS target.
	cds, err := c.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: svc.ServiceArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(cds.VpcDNSTargets) != 1 || aws.ToString(cds.VpcDNSTargets[0].DomainName) != domain ||
		aws.ToString(cds.VpcDNSTargets[0].VpcId) != vpc ||
		aws.ToString(cds.VpcDNSTargets[0].VpcIngressConnectionArn) != aws.ToString(ic.VpcIngressConnectionArn) {
		t.Fatalf("VpcDNSTargets: %+v", cds.VpcDNSTargets)
	}
	client := dockerRun(t, []string{"--network", vpc, "-p", "127.0.0.1::8080"})
	port, err := exec.Command("docker", "port", client, "8080/tcp").Output()
	if err != nil {
		t.Fatal(err)
	}
	clientURL := "http://" + strings.TrimSpace(strings.Split(string(port), "\n")[0])
	fromInside := func() {
		t.Helper()
		for range 100 { // the client container may still be starting
			if code, body = getURL(clientURL + fetchPath("http://"+domain+"/")); code == 200 {
				break
			}
			sleepShort()
		}
		if code != 200 || !strings.Contains(body, "private-hello") {
			t.Fatalf("from the VPC network, http://%s/: %d %q", domain, code, body)
		}
	}
	fromInside()
	// A restarted server serves the connection again, on a listener of
	// its own.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	d = testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Runtime: "docker", IngressProxy: ingressProxy(t)})
	c = testutil.Client(d.URL(), testutil.ClientOptions{})
	fromInside()
	// Still 404 outside, for the domain too.
	if code, _ := get(t, d.RouterURL(), domain, "/"); code != 404 {
		t.Fatalf("the ingress domain on the host's router: %d", code)
	}

	_, err = c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: svc.ServiceArn})
	wantAPIError(t, err, "InvalidStateException", "You cannot delete a Service while it has VpcIngressConnections with a status of AVAILABLE. Service Arn: "+
		aws.ToString(svc.ServiceArn)+" VpcIngressConnection Arn: "+aws.ToString(ic.VpcIngressConnectionArn))

	if _, err := c.DeleteVpcIngressConnection(ctx, &apprunner.DeleteVpcIngressConnectionInput{VpcIngressConnectionArn: ic.VpcIngressConnectionArn}); err != nil {
		t.Fatal(err)
	}
	if gone := waitIngress(t, c, ic.VpcIngressConnectionArn); gone.Status != types.VpcIngressConnectionStatusDeleted {
		t.Fatalf("after delete: %s", gone.Status)
	}
	if left, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.openrunner.ingress="+strings.Split(aws.ToString(ic.VpcIngressConnectionArn), "/")[2]).Output(); len(strings.TrimSpace(string(left))) > 0 {
		t.Fatalf("the proxy container outlived its connection: %s", left)
	}
	if code, _ := getURL(clientURL + fetchPath("http://"+domain+"/")); code == 200 {
		t.Fatal("the service still answers at its domain after the connection was deleted")
	}

	// A VPC whose network does not exist: FAILED_CREATION.
	bad, err := c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("nowhere"),
		ServiceArn: svc.ServiceArn, IngressVpcConfiguration: &types.IngressVpcConfiguration{VpcId: aws.String("vpc-missing-" + openrunner.NewID()[:8]), VpcEndpointId: aws.String("vpce-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitIngress(t, c, bad.VpcIngressConnection.VpcIngressConnectionArn); got.Status != types.VpcIngressConnectionStatusFailedCreation {
		t.Fatalf("on a missing network: %s, want FAILED_CREATION", got.Status)
	}
	if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: svc.ServiceArn}); err != nil {
		t.Fatalf("DeleteService once no connection is AVAILABLE: %v", err)
	}
}

// getURL GETs u; a transport failure is status 0.
func getURL(u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sleepShort() { time.Sleep(100 * time.Millisecond) }
