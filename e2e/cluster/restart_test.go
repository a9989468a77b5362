package cluster_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestDatabaseRestart: PostgreSQL restarts while three servers take
// reads and writes. Errors come only inside the restart window, each a
// retryable InternalServiceErrorException (HTTP 500); no server crashes;
// afterwards every server serves every call again on its own.
func TestDatabaseRestart(t *testing.T) {
	cl := newCluster(t, 3)
	if _, err := cl.servers[0].client.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("steady"), ProviderType: types.ProviderTypeGithub}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		at     time.Time
		status int // 0: no HTTP response
		err    error
	}
	var (
		mu      sync.Mutex
		results []result
		stop    atomic.Bool
		wg      sync.WaitGroup
		seq     atomic.Int64
	)
	for w := range 6 {
		s := cl.servers[w%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var err error
				if w%2 == 0 {
					_, err = s.client.ListConnections(ctx, &apprunner.ListConnectionsInput{})
				} else {
					_, err = s.client.CreateConnection(ctx, &apprunner.CreateConnectionInput{
						ConnectionName: aws.String(fmt.Sprintf("load-%d", seq.Add(1))), ProviderType: types.ProviderTypeGithub})
				}
				r := result{at: time.Now(), status: 200, err: err}
				var re *smithyhttp.ResponseError
				if errors.As(err, &re) {
					r.status = re.HTTPStatusCode()
				} else if err != nil {
					r.status = 0
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	down := time.Now()
	if err := cl.pg.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := cl.pg.Start(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	// The window: the outage, and the time the pools and the listeners
	// take to reconnect (they retry at once, the listeners back off to 5 s
	// at most, but the API's pool needs no listener).
	windowEnd := up.Add(2 * time.Second)
	time.Sleep(4 * time.Second)
	stop.Store(true)
	wg.Wait()

	var during, after, fine int
	for _, r := range results {
		switch {
		case r.err == nil:
			fine++
		case r.at.Before(down) || r.at.After(windowEnd):
			after++
			t.Errorf("an error outside the restart window (%v after the restart): %v", r.at.Sub(up), r.err)
		default:
			during++
			if r.status != 500 || !isException(r.err, "InternalServiceErrorException") {
				t.Errorf("during the restart: %v (HTTP %d), want a retryable InternalServiceErrorException", r.err, r.status)
			}
		}
	}
	t.Logf("%d calls succeeded, %d failed during the %v outage, %d after it", fine, during, up.Sub(down).Round(time.Millisecond), after)
	for _, s := range cl.servers {
		select {
		case <-s.exited:
			t.Fatalf("server %d exited", s.i)
		default:
		}
		if h, err := s.health(); err != nil || h.Status != "ok" {
			t.Fatalf("server %d health after the restart: %+v, %v", s.i, h, err)
		}
		name := fmt.Sprintf("after-restart-%d", s.i)
		if _, err := s.client.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String(name), ProviderType: types.ProviderTypeGithub}); err != nil {
			t.Fatalf("server %d after the restart: %v", s.i, err)
		}
	}
}
