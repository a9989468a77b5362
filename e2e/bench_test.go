package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// signedHeader returns the headers of a signed App Runner request for body;
// a header signature may be replayed within the 15-minute window.
func signedHeader(tb testing.TB, url, target string, body []byte, payloadHash string) http.Header {
	r, _ := http.NewRequest(http.MethodPost, url+"/", nil)
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "AppRunner."+target)
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	} else {
		r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	}
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, payloadHash, "apprunner", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	return r.Header
}

func post(b *testing.B, client *http.Client, url string, h http.Header, body []byte) {
	r, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	r.Header = h
	resp, err := client.Do(r)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("status %d", resp.StatusCode)
	}
}

// BenchmarkListConnections measures signed ListConnections of a 10-connection
// account through the whole HTTP stack (client and server in one process).
func BenchmarkListConnections(b *testing.B) {
	d := testutil.MustRunDaemon(b, daemon.Config{})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	for i := range 10 {
		createConn(b, c, fmt.Sprintf("bench-%02d", i), types.ProviderTypeGithub)
	}
	body := []byte(`{}`)
	h := signedHeader(b, d.URL(), "ListConnections", body, "")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, client, d.URL(), h, body)
		}
	})
}

// BenchmarkCreateConnection measures durable (fsynced) signed
// CreateConnection calls through the whole HTTP stack.
func BenchmarkCreateConnection(b *testing.B) {
	d := testutil.MustRunDaemon(b, daemon.Config{Quotas: openrunner.Quotas{Connections: 1 << 30}})
	h := signedHeader(b, d.URL(), "CreateConnection", nil, "UNSIGNED-PAYLOAD")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Appendf(nil, `{"ConnectionName":"bench-%d","ProviderType":"GITHUB"}`, n.Add(1))
			post(b, client, d.URL(), h, body)
		}
	})
}

// BenchmarkCreateServiceRunning measures CreateService → RUNNING (the
// instance answered its health check and the router serves it) for an
// image already in the local Docker engine, polling DescribeService every
// 10 ms as a client would.
func BenchmarkCreateServiceRunning(b *testing.B) {
	testutil.NeedDockerTestImage(b)
	d := testutil.MustRunDaemon(b, daemon.Config{Runtime: "docker", Quotas: openrunner.Quotas{Services: 1 << 20}})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	b.ResetTimer()
	for i := range b.N {
		out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
			ServiceName:         aws.String(fmt.Sprintf("bench-%d", i)),
			SourceConfiguration: imageSource(testImage, nil, ""),
		})
		if err != nil {
			b.Fatal(err)
		}
		pollRunning(b, c, out.Service.ServiceArn)
		b.StopTimer()
		if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: out.Service.ServiceArn}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkUpdateServiceRollout measures a redeploy: UpdateService (a new
// environment variable, so a new revision) until the service is RUNNING on
// the new revision with the old one drained and stopped.
func BenchmarkUpdateServiceRollout(b *testing.B) {
	testutil.NeedDockerTestImage(b)
	d := testutil.MustRunDaemon(b, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("rollout"), SourceConfiguration: imageSource(testImage, nil, "")})
	if err != nil {
		b.Fatal(err)
	}
	wait := func() { pollRunning(b, c, out.Service.ServiceArn) }
	wait()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{
			ServiceArn: out.Service.ServiceArn, SourceConfiguration: imageSource(testImage, map[string]string{"N": fmt.Sprint(i)}, ""),
		}); err != nil {
			b.Fatal(err)
		}
		wait()
	}
}

// BenchmarkSourceCreateRunning measures CreateService → serving for the
// small Python sample (apprunner.yaml, python311) from a simulated GitHub
// repository: fetch, build, start, health check and route, until the
// ServiceUrl answers. On Docker the base image and the build's layers are
// cached after the first iteration (warm cache).
func BenchmarkSourceCreateRunning(b *testing.B) {
	for _, rt := range []string{"process", "docker"} {
		b.Run(rt, func(b *testing.B) {
			e := newSourceEnv(b, rt, daemon.Config{Quotas: openrunner.Quotas{Services: 1 << 20}})
			app := sampleapp.Python("bench")
			repo := e.repoFor(b, "github", "bench", app.Files)
			b.ResetTimer()
			for i := range b.N {
				out, err := e.c.CreateService(ctx, &apprunner.CreateServiceInput{
					ServiceName:         aws.String(fmt.Sprintf("bench-%d", i)),
					SourceConfiguration: codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil),
				})
				if err != nil {
					b.Fatal(err)
				}
				e.waitBody(b, out.Service, app.Message)
				b.StopTimer()
				if _, err := e.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: out.Service.ServiceArn}); err != nil {
					b.Fatal(err)
				}
				waitStatus(b, e.c, out.Service.ServiceArn)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSourcePushLive measures a push going live: a commit to the
// tracked branch (the simulator delivers the signed webhook) until the
// ServiceUrl answers with the new code.
func BenchmarkSourcePushLive(b *testing.B) {
	for _, rt := range []string{"process", "docker"} {
		b.Run(rt, func(b *testing.B) {
			e := newSourceEnv(b, rt, daemon.Config{})
			repo := e.repoFor(b, "github", "bench", sampleapp.Python("v0").Files)
			svc := e.create(b, "bench-push", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
			e.waitBody(b, svc, "v0")
			b.ResetTimer()
			for i := range b.N {
				next := sampleapp.Python(fmt.Sprintf("v%d", i+1))
				if _, err := repo.Commit("main", next.Files, next.Message); err != nil {
					b.Fatal(err)
				}
				e.waitBody(b, svc, next.Message)
			}
		})
	}
}
