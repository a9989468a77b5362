package cluster_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/internal/testutil"
)

// containers lists the running containers the server with that id started.
func containers(t testing.TB, owner string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label="+docker.LabelOwner+"="+owner).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// TestDockerPlacement: on the Docker runtime each server runs instances
// on its own engine (here one engine, told apart by each server's owner
// label): a service's instances run where its lease is; after kill -9 of
// that server, the survivor starts its own and every router follows; the
// killed server, back, removes the containers it left behind.
func TestDockerPlacement(t *testing.T) {
	testutil.NeedDockerTestImage(t)
	cl := newCluster(t, 2, "--runtime", "docker", "--advertise-address", "127.0.0.1",
		"--lease-ttl", testLeaseTTL.String(), "--resync-interval", testResync.String())
	t.Cleanup(func() {
		for _, s := range cl.servers {
			if ids := containers(t, s.id); len(ids) > 0 {
				_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
			}
		}
	})
	out, err := cl.servers[0].client.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("on-docker"),
		SourceConfiguration: &types.SourceConfiguration{AutoDeploymentsEnabled: aws.Bool(false), ImageRepository: &types.ImageRepository{
			ImageIdentifier: aws.String(testutil.DockerTestImage), ImageRepositoryType: types.ImageRepositoryTypeEcr,
			ImageConfiguration: &types.ImageConfiguration{Port: aws.String("8080")}}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := waitStatus(t, cl.servers[1], out.Service.ServiceArn, 2*time.Minute)
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", svc.Status)
	}
	host := aws.ToString(svc.ServiceUrl)
	holder := cl.serverOf(cl.leaseHolder(t, aws.ToString(svc.ServiceArn)))
	survivor := cl.servers[0]
	if holder == survivor {
		survivor = cl.servers[1]
	}
	if n, m := len(containers(t, holder.id)), len(containers(t, survivor.id)); n != 1 || m != 0 {
		t.Fatalf("the holder runs %d containers and the other server %d, want 1 and 0", n, m)
	}
	for _, s := range cl.servers {
		waitServes(t, s, host, "hello", 3*testResync)
	}

	holder.kill()
	deadline := time.Now().Add(testLeaseTTL + testResync + time.Minute)
	for len(containers(t, survivor.id)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the survivor started no container of the service")
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitServes(t, survivor, host, "hello", time.Minute)
	if len(containers(t, holder.id)) != 1 {
		t.Fatal("the killed server's container should outlive it (instances are adopted, not killed, on a crash)")
	}
	if err := holder.start(t); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Minute)
	for len(containers(t, holder.id)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the restarted server kept running the container of a service another server holds")
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitServes(t, holder, host, "hello", 3*testResync)
}
