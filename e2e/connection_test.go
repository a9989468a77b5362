package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/smithy-go"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

var ctx = context.Background()

// wantAPIError checks that err is the App Runner exception code, and that
// its message contains every fragment.
func wantAPIError(tb testing.TB, err error, code string, fragments ...string) {
	tb.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("error = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		tb.Fatalf("error code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, f := range fragments {
		if !strings.Contains(ae.ErrorMessage(), f) {
			tb.Fatalf("message %q does not contain %q", ae.ErrorMessage(), f)
		}
	}
}

func createConn(tb testing.TB, c *apprunner.Client, name string, p types.ProviderType, tags ...types.Tag) *types.Connection {
	tb.Helper()
	out, err := c.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String(name), ProviderType: p, Tags: tags})
	if err != nil {
		tb.Fatalf("CreateConnection(%s): %v", name, err)
	}
	return out.Connection
}

var connARN = regexp.MustCompile(`^arn:aws:apprunner:us-east-1:000000000000:connection/([A-Za-z0-9_-]+)/[0-9a-f]{32}$`)

func TestCreateListDeleteConnection(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	before := time.Now().Add(-time.Second)
	conn := createConn(t, c, "my-bitbucket", types.ProviderTypeBitbucket)
	if conn.Status != types.ConnectionStatusPendingHandshake || conn.ProviderType != types.ProviderTypeBitbucket ||
		aws.ToString(conn.ConnectionName) != "my-bitbucket" {
		t.Fatalf("created %+v", conn)
	}
	if m := connARN.FindStringSubmatch(aws.ToString(conn.ConnectionArn)); m == nil || m[1] != "my-bitbucket" {
		t.Fatalf("ARN %s", aws.ToString(conn.ConnectionArn))
	}
	if conn.CreatedAt == nil || conn.CreatedAt.Before(before) || conn.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreatedAt %v", conn.CreatedAt)
	}
	gh := createConn(t, c, "my_github-2", types.ProviderTypeGithub)

	list, err := c.ListConnections(ctx, &apprunner.ListConnectionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ConnectionSummaryList) != 2 || list.NextToken != nil {
		t.Fatalf("list = %+v", list)
	}
	got := list.ConnectionSummaryList[0]
	if aws.ToString(got.ConnectionArn) != aws.ToString(conn.ConnectionArn) || got.Status != conn.Status ||
		got.ProviderType != conn.ProviderType || !got.CreatedAt.Equal(*conn.CreatedAt) {
		t.Fatalf("summary %+v differs from created %+v", got, conn)
	}

	byName, err := c.ListConnections(ctx, &apprunner.ListConnectionsInput{ConnectionName: aws.String("my_github-2")})
	if err != nil || len(byName.ConnectionSummaryList) != 1 || aws.ToString(byName.ConnectionSummaryList[0].ConnectionArn) != aws.ToString(gh.ConnectionArn) {
		t.Fatalf("by name: %+v, %v", byName, err)
	}
	none, err := c.ListConnections(ctx, &apprunner.ListConnectionsInput{ConnectionName: aws.String("no-such-conn")})
	if err != nil || len(none.ConnectionSummaryList) != 0 {
		t.Fatalf("unknown name: %+v, %v", none, err)
	}

	del, err := c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: conn.ConnectionArn})
	if err != nil {
		t.Fatal(err)
	}
	if del.Connection.Status != types.ConnectionStatusDeleted || aws.ToString(del.Connection.ConnectionArn) != aws.ToString(conn.ConnectionArn) {
		t.Fatalf("deleted %+v", del.Connection)
	}
	_, err = c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: conn.ConnectionArn})
	wantAPIError(t, err, "ResourceNotFoundException")
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("the SDK did not decode a modeled ResourceNotFoundException: %T", err)
	}

	// The name is free again, and the new connection has a new id.
	again := createConn(t, c, "my-bitbucket", types.ProviderTypeGithub)
	if aws.ToString(again.ConnectionArn) == aws.ToString(conn.ConnectionArn) {
		t.Fatal("re-created connection reused the old ARN")
	}
}

func TestConnectionErrors(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Quotas: openrunner.Quotas{Connections: 3}})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	createConn(t, c, "taken", types.ProviderTypeGithub)

	t.Run("Duplicate", func(t *testing.T) {
		_, err := c.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("taken"), ProviderType: types.ProviderTypeBitbucket})
		wantAPIError(t, err, "InvalidRequestException", "'taken' already exists")
		var ire *types.InvalidRequestException
		if !errors.As(err, &ire) {
			t.Fatalf("not a modeled InvalidRequestException: %T", err)
		}
	})
	t.Run("Quota", func(t *testing.T) {
		createConn(t, c, "second", types.ProviderTypeGithub)
		createConn(t, c, "third", types.ProviderTypeGithub)
		_, err := c.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("fourth"), ProviderType: types.ProviderTypeGithub})
		wantAPIError(t, err, "ServiceQuotaExceededException", "maximum number of connections (3)")
		var sqe *types.ServiceQuotaExceededException
		if !errors.As(err, &sqe) {
			t.Fatalf("not a modeled ServiceQuotaExceededException: %T", err)
		}
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != 402 {
			t.Fatalf("quota status %d, want 402", re.HTTPStatusCode())
		}
	})
	t.Run("Validation", func(t *testing.T) {
		for _, tc := range []struct {
			in        apprunner.CreateConnectionInput
			fragments []string
		}{
			{apprunner.CreateConnectionInput{ConnectionName: aws.String("abc"), ProviderType: types.ProviderTypeGithub},
				[]string{"Value 'abc' at 'connectionName'", "Member must have length greater than or equal to 4"}},
			{apprunner.CreateConnectionInput{ConnectionName: aws.String("-bad-name"), ProviderType: types.ProviderTypeGithub},
				[]string{"at 'connectionName'", "regular expression pattern"}},
			{apprunner.CreateConnectionInput{ConnectionName: aws.String(strings.Repeat("a", 33)), ProviderType: types.ProviderTypeGithub},
				[]string{"length less than or equal to 32"}},
			{apprunner.CreateConnectionInput{ConnectionName: aws.String("good-name"), ProviderType: "GITLAB"},
				[]string{"Value 'GITLAB' at 'providerType'", "enum value set: [GITHUB, BITBUCKET]"}},
			{apprunner.CreateConnectionInput{ConnectionName: aws.String("good-name"), ProviderType: types.ProviderTypeGithub,
				Tags: []types.Tag{{Key: aws.String("aws:name"), Value: aws.String("v")}}},
				[]string{"at 'tags.1.member.key'"}},
		} {
			_, err := c.CreateConnection(ctx, &tc.in)
			wantAPIError(t, err, "InvalidRequestException", tc.fragments...)
		}
		_, err := c.ListConnections(ctx, &apprunner.ListConnectionsInput{MaxResults: aws.Int32(101)})
		wantAPIError(t, err, "InvalidRequestException", "'maxResults'", "less than or equal to 100")
		_, err = c.ListConnections(ctx, &apprunner.ListConnectionsInput{MaxResults: aws.Int32(0)})
		wantAPIError(t, err, "InvalidRequestException", "greater than or equal to 1")
	})
	t.Run("MalformedARN", func(t *testing.T) {
		for _, arn := range []string{
			"not-an-arn",
			"arn:aws:apprunner:us-east-1:000000000000:service/x/0123456789abcdef0123456789abcdef",
			"arn:aws:s3:::bucket",
		} {
			_, err := c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: aws.String(arn)})
			wantAPIError(t, err, "InvalidRequestException")
		}
	})
	t.Run("UnknownARN", func(t *testing.T) {
		arn := "arn:aws:apprunner:us-east-1:000000000000:connection/taken/0123456789abcdef0123456789abcdef"
		_, err := c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: aws.String(arn)})
		wantAPIError(t, err, "ResourceNotFoundException")
	})
}

func TestListConnectionsPagination(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Quotas: openrunner.Quotas{Connections: 50}})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	var want []string
	for i := range 23 {
		want = append(want, aws.ToString(createConn(t, c, fmt.Sprintf("page-%02d", i), types.ProviderTypeGithub).ConnectionArn))
	}

	// The SDK's generated paginator walks every page exactly once.
	var got, tokens []string
	p := apprunner.NewListConnectionsPaginator(c, &apprunner.ListConnectionsInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.ConnectionSummaryList {
			got = append(got, aws.ToString(s.ConnectionArn))
		}
		if page.NextToken != nil {
			tokens = append(tokens, *page.NextToken)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paginated %d ARNs, want %d in creation order", len(got), len(want))
	}
	if len(tokens) != 4 {
		t.Fatalf("%d tokens for 23 items in pages of 5, want 4", len(tokens))
	}

	// A token is bound to its query, its account and Region, and can't be forged.
	name := "page-01"
	for _, tc := range []struct {
		name   string
		client *apprunner.Client
		in     apprunner.ListConnectionsInput
	}{
		{"Forged", c, apprunner.ListConnectionsInput{NextToken: aws.String("AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAA")}},
		{"Tampered", c, apprunner.ListConnectionsInput{NextToken: aws.String(tamper(tokens[0]))}},
		{"OtherFilter", c, apprunner.ListConnectionsInput{NextToken: aws.String(tokens[0]), ConnectionName: &name}},
		{"OtherRegion", testutil.Client(d.URL(), testutil.ClientOptions{Region: "eu-west-1"}), apprunner.ListConnectionsInput{NextToken: aws.String(tokens[0])}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.ListConnections(ctx, &tc.in)
			wantAPIError(t, err, "InvalidRequestException", "NextToken")
		})
	}
}

// tamper flips one character of a token.
func tamper(tok string) string {
	b := []byte(tok)
	if b[2] == 'A' {
		b[2] = 'B'
	} else {
		b[2] = 'A'
	}
	return string(b)
}

func TestConcurrentCreateOneName(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("contended"), ProviderType: types.ProviderTypeGithub})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantAPIError(t, err, "InvalidRequestException", "already exists")
	}
	if ok != 1 {
		t.Fatalf("%d of 16 concurrent creates succeeded, want exactly 1", ok)
	}
	list, err := c.ListConnections(ctx, &apprunner.ListConnectionsInput{})
	if err != nil || len(list.ConnectionSummaryList) != 1 {
		t.Fatalf("list after race: %d connections, %v", len(list.ConnectionSummaryList), err)
	}
}

func TestRestartKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	d := daemon.New(daemon.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	conn := createConn(t, c, "survivor", types.ProviderTypeBitbucket, types.Tag{Key: aws.String("k"), Value: aws.String("v")})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir})
	c2 := testutil.Client(d2.URL(), testutil.ClientOptions{})
	list, err := c2.ListConnections(ctx, &apprunner.ListConnectionsInput{})
	if err != nil || len(list.ConnectionSummaryList) != 1 || aws.ToString(list.ConnectionSummaryList[0].ConnectionArn) != aws.ToString(conn.ConnectionArn) {
		t.Fatalf("after restart: %+v, %v", list, err)
	}
	tags, err := c2.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: conn.ConnectionArn})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags after restart: %+v, %v", tags, err)
	}
}

// TestLocalRegionName: local set-ups often name their Region "local"; every
// call must work there, including the ones that parse ARNs.
func TestLocalRegionName(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{})
	c := testutil.Client(d.URL(), testutil.ClientOptions{Region: "local"})
	conn := createConn(t, c, "in-local", types.ProviderTypeGithub)
	if !strings.HasPrefix(aws.ToString(conn.ConnectionArn), "arn:aws:apprunner:local:000000000000:connection/in-local/") {
		t.Fatalf("ARN %s", aws.ToString(conn.ConnectionArn))
	}
	if _, err := c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: conn.ConnectionArn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: conn.ConnectionArn}); err != nil {
		t.Fatal(err)
	}
}
