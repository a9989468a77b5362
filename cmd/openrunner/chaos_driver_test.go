package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

// chaosDriver makes random service calls and remembers what each
// service's acknowledged calls asked for.
type chaosDriver struct {
	t        *testing.T
	c        *apprunner.Client
	r        *rand.Rand
	s        *chaosServer
	app      sampleapp.App
	repoURL  string
	conn     string
	services []*want
	calls    int
	acked    int
	refused  int
	lost     int
	versions int
}

// maxLive bounds the services alive at once (each runs a Python process).
const maxLive = 4

func (d *chaosDriver) live() []*want {
	var live []*want
	for _, w := range d.services {
		if w.status != types.ServiceStatusDeleted || w.alt != nil {
			live = append(live, w)
		}
	}
	return live
}

// source is the services' source configuration with VERSION=version.
func (d *chaosDriver) source(version string) *types.SourceConfiguration {
	v := d.app.Values
	return &types.SourceConfiguration{
		CodeRepository: &types.CodeRepository{
			RepositoryUrl:     aws.String(d.repoURL),
			SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
			CodeConfiguration: &types.CodeConfiguration{ConfigurationSource: types.ConfigurationSourceApi, CodeConfigurationValues: &types.CodeConfigurationValues{
				Runtime: types.Runtime(v.Runtime), BuildCommand: aws.String(v.BuildCommand), StartCommand: aws.String(v.StartCommand), Port: aws.String(v.Port),
				RuntimeEnvironmentVariables: map[string]string{"VERSION": version},
			}},
		},
		AuthenticationConfiguration: &types.AuthenticationConfiguration{ConnectionArn: aws.String(d.conn)},
		AutoDeploymentsEnabled:      aws.Bool(false),
	}
}

// step makes one call.
func (d *chaosDriver) step(ctx context.Context) {
	live := d.live()
	if len(live) == 0 || (len(live) < maxLive && d.r.IntN(5) == 0) {
		d.create(ctx)
		return
	}
	w := live[d.r.IntN(len(live))]
	if w.alt != nil {
		d.resolve(ctx, w)
		if w.status == types.ServiceStatusDeleted {
			return
		}
	}
	// Half the time the call races the service's operation in progress
	// (and is refused with InvalidStateException).
	if d.r.IntN(2) == 0 {
		d.settle(ctx, w, 60*time.Second)
	}
	d.maybeKillDuring()
	next := *w
	arn := aws.String(w.arn)
	var err error
	switch n := d.r.IntN(8); {
	case w.status == types.ServiceStatusPaused && n < 6:
		next.status = types.ServiceStatusRunning
		_, err = d.c.ResumeService(ctx, &apprunner.ResumeServiceInput{ServiceArn: arn})
	case n < 3 && w.status == types.ServiceStatusRunning:
		d.versions++
		next.version = fmt.Sprintf("v%d", d.versions)
		_, err = d.c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, SourceConfiguration: d.source(next.version)})
	case n < 5 && w.status == types.ServiceStatusRunning:
		_, err = d.c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn})
	case n < 7 && w.status == types.ServiceStatusRunning:
		next.status = types.ServiceStatusPaused
		_, err = d.c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: arn})
	default:
		next.status = types.ServiceStatusDeleted
		_, err = d.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: arn})
	}
	d.record(w, next, err)
}

// create makes a new service.
func (d *chaosDriver) create(ctx context.Context) {
	w := &want{name: fmt.Sprintf("chaos-%d", len(d.services)), status: types.ServiceStatusDeleted}
	d.services = append(d.services, w)
	d.versions++
	next := *w
	next.status, next.version = types.ServiceStatusRunning, fmt.Sprintf("v%d", d.versions)
	d.maybeKillDuring()
	out, err := d.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(w.name), SourceConfiguration: d.source(next.version)})
	if err == nil {
		next.arn = aws.ToString(out.Service.ServiceArn)
	}
	d.record(w, next, err)
}

// record applies a call's outcome to what w wants.
func (d *chaosDriver) record(w *want, next want, err error) {
	if errors.Is(err, syscall.ECONNREFUSED) {
		// The server is restarting: the call was never made.
		time.Sleep(100 * time.Millisecond)
		return
	}
	d.calls++
	switch o := outcome(err); o {
	case "acked":
		d.acked++
		next.alt = nil
		*w = next
	case "lost":
		d.lost++
		next.alt = nil
		w.alt = &next
	default:
		// A call racing an operation in progress is refused; StartDeployment
		// models no InvalidStateException, so it refuses with
		// InvalidRequestException (docs/apprunner-api.md).
		d.refused++
		if o != "refused: InvalidStateException" && (o != "refused: InvalidRequestException" || !strings.Contains(err.Error(), "operation in progress")) {
			d.t.Errorf("%s: %v", w, err)
		}
	}
}

// observe reads a service's state; a service that is not found is DELETED.
func (d *chaosDriver) observe(ctx context.Context, w *want) (want, error) {
	got := want{name: w.name, arn: w.arn, status: types.ServiceStatusDeleted}
	if got.arn == "" { // a create whose answer was lost
		out, err := d.c.ListServices(ctx, &apprunner.ListServicesInput{})
		if err != nil {
			return got, err
		}
		for _, s := range out.ServiceSummaryList {
			if aws.ToString(s.ServiceName) == w.name {
				got.arn = aws.ToString(s.ServiceArn)
			}
		}
		if got.arn == "" {
			return got, nil
		}
	}
	out, err := d.c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: aws.String(got.arn)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return got, nil
	case err != nil:
		return got, err
	}
	got.status = out.Service.Status
	if cr := out.Service.SourceConfiguration.CodeRepository; cr != nil && cr.CodeConfiguration.CodeConfigurationValues != nil {
		got.version = cr.CodeConfiguration.CodeConfigurationValues.RuntimeEnvironmentVariables["VERSION"]
	}
	return got, nil
}

// settle waits (through restarts) until w's service is not
// OPERATION_IN_PROGRESS, and returns what it then is.
func (d *chaosDriver) settle(ctx context.Context, w *want, timeout time.Duration) want {
	var got want
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = d.observe(ctx, w); err == nil && got.status != types.ServiceStatusOperationInProgress {
			return got
		}
	}
	got.status = types.ServiceStatusOperationInProgress
	return got
}

// resolve settles an ambiguous service and checks that it is in one of the
// two states its lost call could have left it in.
func (d *chaosDriver) resolve(ctx context.Context, w *want) {
	got := d.settle(ctx, w, 120*time.Second)
	if got.status == types.ServiceStatusOperationInProgress {
		d.t.Errorf("after a lost call %s is still in OPERATION_IN_PROGRESS after 120 s", w.name)
		return
	}
	if !got.matches(w) && !got.matches(w.alt) {
		d.t.Errorf("after a lost call %s is %s, want %s or %s", w.name, &got, w, w.alt)
	}
	got.alt = nil
	*w = got
}

// matches reports whether got is the state w asks for.
func (got *want) matches(w *want) bool {
	return got.status == w.status && (w.status == types.ServiceStatusDeleted || got.version == w.version)
}

// maybeKillDuring, one call in five, has the server killed a random few
// milliseconds from now: while the next call is in flight, or just after.
func (d *chaosDriver) maybeKillDuring() {
	if d.r.IntN(5) == 0 {
		select {
		case d.s.killAt <- time.Duration(d.r.IntN(4000)) * time.Microsecond:
		default:
		}
	}
}
