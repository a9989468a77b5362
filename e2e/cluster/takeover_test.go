package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

// TestTakeover: the server holding a source service's lease is killed
// with SIGKILL in the middle of a deployment. Another server takes the
// lease within the TTL plus one resync and finishes (or rolls back) the
// operation; the service serves on the surviving routers; what the killed
// server acknowledged is kept; and once it is back, it stops the instances
// it left behind, since the service is another server's now.
func TestTakeover(t *testing.T) {
	e := newEnv(t, 3)
	out, err := e.servers[0].client.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("takeover"), SourceConfiguration: e.codeSource()})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Service.ServiceArn
	if svc := waitStatus(t, e.servers[1], arn, 4*time.Minute); svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", svc.Status)
	}
	holder := e.serverOf(e.leaseHolder(t, aws.ToString(arn)))
	if holder == nil {
		t.Fatal("no server holds the lease")
	}
	var survivors []*server
	for _, s := range e.servers {
		if s != holder {
			survivors = append(survivors, s)
		}
	}

	// Writes the holder acknowledges just before it dies.
	var acked []string
	for i := range 5 {
		c, err := holder.client.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String(fmt.Sprintf("before-kill-%d", i)), ProviderType: types.ProviderTypeGithub})
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, aws.ToString(c.Connection.ConnectionArn))
	}
	// A deployment of a new commit, asked of another server: the kick
	// reaches the holder through a notification, and it starts building.
	if _, err := e.repo.Commit("main", sampleapp.Python("v2").Files, "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := survivors[0].client.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if d, err := holder.client.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: arn}); err != nil || d.Service.Status != types.ServiceStatusOperationInProgress {
		t.Fatalf("before the kill the service is %v (%v), want OPERATION_IN_PROGRESS", d, err)
	}
	killed := time.Now()
	holder.kill()
	left := instances(t, holder)
	if left == 0 {
		t.Fatal("the killed server left no instance behind: nothing to check")
	}

	// Another server takes the lease.
	var taken time.Duration
	for {
		if h := e.leaseHolder(t, aws.ToString(arn)); h != "" && h != holder.id {
			taken = time.Since(killed)
			break
		}
		if time.Since(killed) > testLeaseTTL+testResync+2*time.Second {
			t.Fatalf("no server took the lease within %v", time.Since(killed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("takeover %v after kill -9 (lease TTL %v, resync %v)", taken.Round(time.Millisecond), testLeaseTTL, testResync)

	svc := waitStatus(t, survivors[1], arn, 4*time.Minute)
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("after the takeover the service is %s", svc.Status)
	}
	ops, err := survivors[1].client.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops.OperationSummaryList {
		if op.Status == types.OperationStatusInProgress || op.Status == types.OperationStatusPending {
			t.Fatalf("operation %s %s is still %s", aws.ToString(op.Id), op.Type, op.Status)
		}
	}
	want := "v2"
	if ops.OperationSummaryList[0].Status != types.OperationStatusSucceeded {
		want = sourceMessage // rolled back
	}
	t.Logf("the deployment ended %s", ops.OperationSummaryList[0].Status)
	for _, s := range survivors {
		waitServes(t, s, aws.ToString(svc.ServiceUrl), want, 3*testResync)
	}
	for _, a := range acked {
		if _, err := survivors[0].client.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: aws.String(a)}); err != nil {
			t.Fatalf("acknowledged %s is lost: %v", a, err)
		}
	}

	// The killed server comes back, finds its instances of a service it
	// no longer holds, and stops them.
	if err := holder.start(t); err != nil {
		t.Fatal(err)
	}
	waitServes(t, holder, aws.ToString(svc.ServiceUrl), want, 3*testResync)
	time.Sleep(3 * testResync)
	holder.stop()
	if n := instances(t, holder); n != 0 {
		t.Fatalf("the restarted server left %d of its %d instances of a service it does not hold running", n, left)
	}
}
