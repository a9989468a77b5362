package cluster_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/internal/pgtest"
)

// TestWritesReadEverywhere: what one server writes, the others read at
// once: connections, tags and auto scaling configurations.
func TestWritesReadEverywhere(t *testing.T) {
	cl := newCluster(t, 3)
	a, b, c := cl.servers[0].client, cl.servers[1].client, cl.servers[2].client

	out, err := a.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("shared"), ProviderType: types.ProviderTypeGithub,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Connection.ConnectionArn
	for i, cli := range []*apprunner.Client{b, c} {
		list, err := cli.ListConnections(ctx, &apprunner.ListConnectionsInput{ConnectionName: aws.String("shared")})
		if err != nil || len(list.ConnectionSummaryList) != 1 || aws.ToString(list.ConnectionSummaryList[0].ConnectionArn) != aws.ToString(arn) {
			t.Fatalf("server %d lists %+v, %v", i+1, list, err)
		}
	}
	if _, err := b.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("tags through server 2: %+v, %v", tags, err)
	}

	asc, err := c.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{
		AutoScalingConfigurationName: aws.String("busy"), MaxSize: aws.Int32(7)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.DescribeAutoScalingConfiguration(ctx, &apprunner.DescribeAutoScalingConfigurationInput{
		AutoScalingConfigurationArn: asc.AutoScalingConfiguration.AutoScalingConfigurationArn})
	if err != nil || aws.ToInt32(got.AutoScalingConfiguration.MaxSize) != 7 {
		t.Fatalf("through server 0: %+v, %v", got, err)
	}
	// Its second revision, made through another server, numbers on.
	again, err := b.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: aws.String("busy")})
	if err != nil || aws.ToInt32(again.AutoScalingConfiguration.AutoScalingConfigurationRevision) != 2 {
		t.Fatalf("second revision: %+v, %v", again, err)
	}

	if _, err := c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: arn}); !isException(err, "ResourceNotFoundException") {
		t.Fatalf("tags of a connection deleted through another server: %v", err)
	}
}

// TestNameRace: 16 CreateConnection calls with one name, spread over 3
// servers, all at once: exactly one wins, and the others are told the name
// is taken.
func TestNameRace(t *testing.T) {
	cl := newCluster(t, 3)
	for round := range 5 {
		name := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 16)
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = cl.servers[i%3].client.CreateConnection(ctx, &apprunner.CreateConnectionInput{
					ConnectionName: aws.String(name), ProviderType: types.ProviderTypeBitbucket})
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !isException(err, "InvalidRequestException"):
				t.Fatalf("a loser got %v, want InvalidRequestException", err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d creates won, want exactly 1", round, won)
		}
		list, err := cl.servers[round%3].client.ListConnections(ctx, &apprunner.ListConnectionsInput{ConnectionName: aws.String(name)})
		if err != nil || len(list.ConnectionSummaryList) != 1 {
			t.Fatalf("listed %+v, %v", list, err)
		}
	}
}

func isException(err error, code string) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// TestSecretKeyRequired: a server on a shared database refuses to start
// without the shared master key, and says which setting is missing.
func TestSecretKeyRequired(t *testing.T) {
	url, err := pgtest.Shared(t).CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--router-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--database-url", url, "--runtime", "none")
	cmd.Env = append(os.Environ(), "OPENRUNNER_SECRET_KEY=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "OPENRUNNER_SECRET_KEY is required with --database-url") {
		t.Fatalf("started without a secret key: %v\n%s", err, out)
	}
}
