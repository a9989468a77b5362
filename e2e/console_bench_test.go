package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/runtimetest"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// consoleClient signs in to the console and returns a client with its
// session cookie.
func consoleClient(tb testing.TB, base string) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/console/signin")
	if err != nil {
		tb.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		tb.Fatalf("no sign-in token in %s", page)
	}
	resp, err = c.PostForm(base+"/console/signin", url.Values{"csrf_token": {string(m[1])},
		"access_key_id": {daemon.DefaultAccessKeyID}, "secret_access_key": {daemon.DefaultSecretAccessKey}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/console/connections" {
		tb.Fatalf("sign-in ended on %s", resp.Request.URL)
	}
	return c
}

// BenchmarkConsolePages measures the console's pages of an account with
// 30 running services (the default quota), on the process runtime, each
// page through the whole HTTP stack. The peer, api-list-describe, reads
// the same services as a script would: ListServices, then DescribeService
// of each, through the AWS SDK.
func BenchmarkConsolePages(b *testing.B) {
	d := testutil.MustRunDaemon(b, daemon.Config{Runtime: "process", MetricsSampleInterval: time.Second})
	sdk := testutil.Client(d.URL(), testutil.ClientOptions{})
	bin, err := runtimetest.BuildAppIn(b.TempDir(), "", "")
	if err != nil {
		b.Fatal(err)
	}
	var arns []string
	for i := range 30 {
		out, err := sdk.CreateService(ctx, &apprunner.CreateServiceInput{
			ServiceName:         aws.String(fmt.Sprintf("bench-%02d", i)),
			SourceConfiguration: imageSource(bin, map[string]string{"N": fmt.Sprint(i)}, ""),
		})
		if err != nil {
			b.Fatal(err)
		}
		arns = append(arns, *out.Service.ServiceArn)
	}
	for _, arn := range arns {
		if svc := waitStatus(b, sdk, &arn); svc.Status != types.ServiceStatusRunning {
			b.Fatalf("%s is %s", arn, svc.Status)
		}
	}
	c := consoleClient(b, d.URL())
	one := url.QueryEscape(arns[0])
	pages := []struct{ name, path string }{
		{"services", "/console/services"},
		{"service-logs", "/console/services/view?arn=" + one},
		{"service-activity", "/console/services/view?tab=activity&arn=" + one},
		{"service-configuration", "/console/services/view?tab=configuration&arn=" + one},
		{"service-metrics", "/console/services/view?tab=metrics&arn=" + one},
		{"create-form", "/console/services/create"},
		{"edit-form", "/console/services/edit?arn=" + one},
		{"autoscaling", "/console/autoscaling"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.Get(d.URL() + p.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if path, _, _ := strings.Cut(p.path, "?"); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != path {
					b.Fatalf("%s: %d at %s", p.path, resp.StatusCode, resp.Request.URL)
				}
			}
		})
	}
	b.Run("api-list-describe", func(b *testing.B) {
		for b.Loop() {
			list, err := sdk.ListServices(ctx, &apprunner.ListServicesInput{MaxResults: aws.Int32(20)})
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range list.ServiceSummaryList {
				if _, err := sdk.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: s.ServiceArn}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
