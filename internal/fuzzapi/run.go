package fuzzapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Options configure Run.
type Options struct {
	URL      string // the API's base URL
	Model    *Model
	Requests int
	Workers  int    // concurrent connections; default 8
	Seed     uint64 // the run's sequence
	// AccessKeyID and SecretAccessKey sign the requests; default test/test.
	AccessKeyID, SecretAccessKey string
	Region                       string // default us-east-1
	// MaxBody is the server's body limit; default 1 MiB.
	MaxBody int
	// Client sends the requests; nil: one with Workers idle connections.
	Client *http.Client
}

// Failure is a request whose answer broke a rule.
type Failure struct {
	Request Request
	Status  int // 0 when the request got no answer
	Problem string
}

func (f Failure) String() string {
	body := f.Request.Body
	if len(body) > 200 {
		body = body[:200]
	}
	return fmt.Sprintf("%s %s %s (%d-byte body %q): status %d: %s", f.Request.Op, f.Request.Kind, f.Request.Auth, len(f.Request.Body), body, f.Status, f.Problem)
}

// Result is what a Run saw.
type Result struct {
	Sent     int
	Elapsed  time.Duration
	ByStatus map[int]int
	ByType   map[string]int // the __type of each 4xx, short name
	ByKind   map[string]int
	ByOp     map[string]int
	// Failures counts the requests that broke a rule; Examples holds the
	// first few.
	Failures int
	Examples []Failure
}

// Rate is the requests per second.
func (r *Result) Rate() float64 { return float64(r.Sent) / r.Elapsed.Seconds() }

// Summary is a few lines for a log or the README.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests in %.1fs (%.0f/s) across %d operations; %d failures\n", r.Sent, r.Elapsed.Seconds(), r.Rate(), len(r.ByOp), r.Failures)
	fmt.Fprintf(&b, "status: %s\n", countList(r.ByStatus))
	fmt.Fprintf(&b, "kinds: %s\n", countList(r.ByKind))
	fmt.Fprintf(&b, "__type: %s\n", countList(r.ByType))
	for _, f := range r.Examples {
		fmt.Fprintf(&b, "FAIL %s\n", f)
	}
	return b.String()
}

func countList[K comparable](m map[K]int) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%v=%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// Run sends o.Requests generated requests and checks every answer: no
// 5xx, no dropped connection, every 4xx a JSON body with a __type.
func Run(ctx context.Context, o Options) *Result {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.AccessKeyID == "" {
		o.AccessKeyID, o.SecretAccessKey = "test", "test"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Workers}}
	}
	total := &Result{ByStatus: map[int]int{}, ByType: map[string]int{}, ByKind: map[string]int{}, ByOp: map[string]int{}}
	var left atomic.Int64
	left.Store(int64(o.Requests))
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := NewGenerator(o.Model, o.Seed*1000003+uint64(w))
			g.MaxBody = o.MaxBody
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				req := g.Next()
				status, typ, problem := send(ctx, o, req)
				mu.Lock()
				total.Sent++
				total.ByStatus[status]++
				total.ByKind[req.Kind.String()]++
				total.ByOp[req.Op]++
				if typ != "" {
					total.ByType[typ]++
				}
				if problem != "" {
					total.Failures++
					if len(total.Examples) < 10 {
						total.Examples = append(total.Examples, Failure{Request: req, Status: status, Problem: problem})
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	return total
}

// send sends req and returns its status, the short __type of an error
// and what rule, if any, the answer broke.
func send(ctx context.Context, o Options, req Request) (status int, typ, problem string) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+"/", bytes.NewReader(req.Body))
	if err != nil {
		return 0, "", err.Error()
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", o.Model.Metadata.TargetPrefix+"."+req.Op)
	if req.Auth != "unsigned" {
		secret := o.SecretAccessKey
		if req.Auth == "bad-signature" {
			secret += "-wrong"
		}
		sum := sha256.Sum256(req.Body)
		creds := aws.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(ctx, creds, r, hex.EncodeToString(sum[:]), o.Model.Metadata.SigningName, o.Region, time.Now()); err != nil {
			return 0, "", "sign: " + err.Error()
		}
	}
	resp, err := o.Client.Do(r)
	if err != nil {
		return 0, "", "no answer: " + err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, "", "reading the answer: " + err.Error()
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, "", ""
	case resp.StatusCode < 400 || resp.StatusCode >= 500:
		return resp.StatusCode, "", fmt.Sprintf("status %d: %.300s", resp.StatusCode, body)
	}
	var e struct {
		Type string `json:"__type"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Type == "" {
		return resp.StatusCode, "", fmt.Sprintf("a 4xx without an AWS __type: %.300s", body)
	}
	if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
		e.Type = e.Type[i+1:]
	}
	return resp.StatusCode, e.Type, ""
}
