package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

var (
	idRE        = regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	urlPrefixRE = regexp.MustCompile(`^[a-z0-9]{10}$`)
)

// imageConfig returns a ServiceConfig with every field set and an image
// source.
func imageConfig() openrunner.ServiceConfig {
	return openrunner.ServiceConfig{
		Source: openrunner.SourceConfig{
			Image: &openrunner.ImageSource{
				Identifier:     "public.ecr.aws/aws-containers/hello-app-runner:latest",
				RepositoryType: "ECR_PUBLIC",
				Port:           "8000",
				Env:            map[string]string{"GREETING": "hello", "EMPTY": ""},
				Secrets:        map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf"},
				StartCommand:   "./serve --port 8000",
			},
			AutoDeploymentsEnabled: true,
			AccessRoleARN:          "arn:aws:iam::111111111111:role/AppRunnerECRAccess",
		},
		Instance: openrunner.InstanceConfig{CPU: "1024", Memory: "2048", InstanceRoleARN: "arn:aws:iam::111111111111:role/app"},
		HealthCheck: openrunner.HealthCheckConfig{
			Protocol: "HTTP", Path: "/healthz", Interval: 10, Timeout: 5, HealthyThreshold: 1, UnhealthyThreshold: 5,
		},
		Network: openrunner.NetworkConfig{
			EgressType:           "VPC",
			VpcConnectorARN:      "arn:aws:apprunner:us-east-1:111111111111:vpcconnector/vpc/1/8fe1e10304f84fd2b0df550fe98a71fa",
			IsPubliclyAccessible: true,
			IPAddressType:        "DUAL_STACK",
		},
		// Enabled observability must name a configuration that exists:
		// testObservability covers it.
		Observability: openrunner.ObservabilityConfig{},
	}
}

// codeConfig returns a ServiceConfig with every field set and a code
// source, whose Env is empty but not nil and whose Secrets are nil.
func codeConfig() openrunner.ServiceConfig {
	cfg := imageConfig()
	cfg.Source = openrunner.SourceConfig{
		Code: &openrunner.CodeSource{
			RepositoryURL:       "https://github.com/octocat/hello",
			VersionType:         "BRANCH",
			VersionValue:        "main",
			SourceDirectory:     "/app",
			ConfigurationSource: "API",
			Values: &openrunner.CodeValues{
				Runtime:      "PYTHON_3",
				BuildCommand: "pip install -r requirements.txt",
				StartCommand: "python app.py",
				Port:         "8080",
				Env:          map[string]string{},
			},
		},
		ConnectionARN: "arn:aws:apprunner:us-east-1:111111111111:connection/gh/51dd2ed254834e68a2332aeae754a96b",
	}
	cfg.Network = openrunner.NetworkConfig{EgressType: "DEFAULT", IsPubliclyAccessible: false, IPAddressType: "IPV4"}
	return cfg
}

func mustCreateService(tb testing.TB, s Stores, scope openrunner.Scope, name string, tags ...openrunner.Tag) (*openrunner.Service, *openrunner.Operation) {
	tb.Helper()
	cfg := imageConfig()
	svc := &openrunner.Service{Name: name, Config: cfg}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}
	if err := s.Services.CreateService(Ctx(scope), svc, op, tags); err != nil {
		tb.Fatalf("CreateService(%s): %v", name, err)
	}
	return svc, op
}

func mustFindService(tb testing.TB, s Stores, scope openrunner.Scope, arn string) *openrunner.Service {
	tb.Helper()
	svc, err := s.Services.FindServiceByARN(Ctx(scope), arn)
	if err != nil {
		tb.Fatalf("FindServiceByARN(%s): %v", arn, err)
	}
	return svc
}

// mustFinish ends op with opStatus and leaves its service svc in svcStatus.
func mustFinish(tb testing.TB, s Stores, op *openrunner.Operation, svc *openrunner.Service, opStatus, svcStatus string) {
	tb.Helper()
	op.Status, svc.Status = opStatus, svcStatus
	// The operations engine runs outside any request, hence without a Scope.
	if err := s.Services.FinishOperation(context.Background(), op, svc); err != nil {
		tb.Fatalf("FinishOperation(%s %s): %v", op.Type, opStatus, err)
	}
}

// mustDeleteService runs a whole DELETE_SERVICE operation on svc and returns
// the DELETED service.
func mustDeleteService(tb testing.TB, s Stores, svc *openrunner.Service) *openrunner.Service {
	tb.Helper()
	op := &openrunner.Operation{Type: openrunner.OperationDeleteService}
	got, err := s.Services.StartOperation(Ctx(svc.Scope), svc.ARN(), op, func(*openrunner.Service) error { return nil })
	if err != nil {
		tb.Fatalf("StartOperation(DELETE_SERVICE): %v", err)
	}
	mustFinish(tb, s, op, got, openrunner.OperationSucceeded, openrunner.ServiceDeleted)
	return got
}

func mustFindOperations(tb testing.TB, s Stores, scope openrunner.Scope, arn string, f openrunner.OperationFilter) openrunner.OperationPage {
	tb.Helper()
	p, err := s.Services.FindOperations(Ctx(scope), arn, f)
	if err != nil {
		tb.Fatalf("FindOperations(%s): %v", arn, err)
	}
	return p
}

func serviceNames(tb testing.TB, s Stores, scope openrunner.Scope) string {
	tb.Helper()
	p, err := s.Services.FindServices(Ctx(scope), openrunner.ServiceFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, svc := range p.Services {
		names = append(names, svc.Name)
	}
	return fmt.Sprint(names)
}

func operationIDs(ops []*openrunner.Operation) []string {
	var ids []string
	for _, op := range ops {
		ids = append(ids, op.ID)
	}
	return ids
}

// wantEqual fails unless got and want are deeply equal, showing both.
func wantEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		tb.Fatalf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

func noApply(*openrunner.Service) error { return nil }

func testServices(t *testing.T, open Opener) {
	t.Run("CreateAndFind", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		ctx := Ctx(ScopeA)
		image, code := imageConfig(), codeConfig()
		repoCode := codeConfig()
		repoCode.Source.Code.ConfigurationSource = "REPOSITORY"
		repoCode.Source.Code.Values = nil
		for _, tt := range []struct {
			name            string
			config, desired openrunner.ServiceConfig
		}{
			{"image-svc", image, image},
			{"code-svc", code, repoCode},
		} {
			svc := &openrunner.Service{
				Name:                        tt.name,
				Config:                      tt.config,
				AutoScalingConfigurationARN: "arn:aws:apprunner:us-east-1:111111111111:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001",
				KMSKey:                      "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			}
			desired := tt.desired
			op := &openrunner.Operation{Type: openrunner.OperationCreateService, Step: "queued", Desired: &desired}
			if err := s.Services.CreateService(ctx, svc, op, []openrunner.Tag{{Key: "team", Value: "web"}}); err != nil {
				t.Fatal(err)
			}
			if !idRE.MatchString(svc.ID) || !urlPrefixRE.MatchString(svc.URLPrefix) || svc.Scope != ScopeA ||
				svc.Status != openrunner.ServiceOperationInProgress || svc.CreatedAt.IsZero() ||
				!svc.UpdatedAt.Equal(svc.CreatedAt) || !svc.DeletedAt.IsZero() || svc.Active != nil || svc.Seq == 0 {
				t.Fatalf("created service = %+v", svc)
			}
			if !uuidRE.MatchString(op.ID) || op.ServiceARN != svc.ARN() || op.Type != openrunner.OperationCreateService ||
				op.Status != openrunner.OperationPending || op.Step != "queued" || !op.StartedAt.Equal(svc.CreatedAt) ||
				!op.UpdatedAt.Equal(op.StartedAt) || !op.EndedAt.IsZero() || op.Seq == 0 {
				t.Fatalf("created operation = %+v", op)
			}

			got := mustFindService(t, s, ScopeA, svc.ARN())
			wantEqual(t, "FindServiceByARN", got, svc)
			wantEqual(t, "stored config", got.Config, tt.config)
			ops := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{})
			if len(ops.Operations) != 1 || ops.Next != 0 {
				t.Fatalf("FindOperations = %d operations, next %d; want 1, 0", len(ops.Operations), ops.Next)
			}
			wantEqual(t, "FindOperations", ops.Operations[0], op)
			wantEqual(t, "stored desired config", *ops.Operations[0].Desired, tt.desired)
			tags, err := s.Tags.ListTags(ctx, svc.ARN())
			if err != nil || fmt.Sprint(tags) != "[{team web}]" {
				t.Fatalf("tags = %v, %v", tags, err)
			}

			// What a caller does with a result must not reach the store.
			got.Config.Instance.CPU = "4096"
			if got.Config.Source.Image != nil {
				got.Config.Source.Image.Env["GREETING"] = "changed"
			}
			wantEqual(t, "after changing a result", mustFindService(t, s, ScopeA, svc.ARN()), svc)
		}

		p, err := s.Services.FindServices(ctx, openrunner.ServiceFilter{})
		if err != nil || len(p.Services) != 2 || p.Next != 0 {
			t.Fatalf("FindServices = %+v, %v", p, err)
		}
		for _, svc := range p.Services {
			wantEqual(t, "FindServices", svc, mustFindService(t, s, ScopeA, svc.ARN()))
		}
		if p.Services[0].Config.Source.Code != nil || p.Services[1].Config.Source.Image != nil ||
			p.Services[1].Config.Source.Code.Values.Env == nil || p.Services[1].Config.Source.Code.Values.Secrets != nil {
			t.Fatal("sources, or nil and empty maps, did not round-trip")
		}
	})

	t.Run("ErrConflictOnDuplicateName", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		first, op := mustCreateService(t, s, ScopeA, "web")
		create := func() error {
			return s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: "web", Config: codeConfig()},
				&openrunner.Operation{Type: openrunner.OperationCreateService}, nil)
		}
		err := create()
		wantCode(t, err, openrunner.ECONFLICT)
		if got, want := openrunner.ErrorMessage(err), "A service named 'web' already exists in this account and Region."; got != want {
			t.Fatalf("message = %q, want %q", got, want)
		}
		// Other scopes are independent.
		mustCreateService(t, s, ScopeB, "web")
		mustCreateService(t, s, ScopeC, "web")

		// A failed service still holds its name; a DELETED one does not.
		mustFinish(t, s, op, first, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
		wantCode(t, create(), openrunner.ECONFLICT)
		mustDeleteService(t, s, first)
		second, _ := mustCreateService(t, s, ScopeA, "web")
		if second.ID == first.ID || second.URLPrefix == first.URLPrefix {
			t.Fatalf("a re-created service must get a new id and domain: %s/%s, was %s/%s",
				second.ID, second.URLPrefix, first.ID, first.URLPrefix)
		}
		if got := serviceNames(t, s, ScopeA); got != "[web]" {
			t.Fatalf("services = %s, want [web]", got)
		}
		wantCode(t, create(), openrunner.ECONFLICT)
	})

	t.Run("ConcurrentCreateOneName", func(t *testing.T) {
		s := open(t, openrunner.Quotas{Services: 2})
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: "race", Config: imageConfig()},
					&openrunner.Operation{Type: openrunner.OperationCreateService}, nil)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch openrunner.ErrorCode(err) {
			case "":
				ok++
			case openrunner.ECONFLICT:
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d creates succeeded, want 1", ok)
		}
		// The failed creates gave their quota back.
		mustCreateService(t, s, ScopeA, "second")
		err := s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: "third"}, &openrunner.Operation{}, nil)
		wantCode(t, err, openrunner.EQUOTA)
	})

	t.Run("ErrQuota", func(t *testing.T) {
		s := open(t, openrunner.Quotas{Services: 2})
		a, aop := mustCreateService(t, s, ScopeA, "a")
		b, bop := mustCreateService(t, s, ScopeA, "b")
		create := func(name string) error {
			return s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: name, Config: imageConfig()},
				&openrunner.Operation{Type: openrunner.OperationCreateService}, nil)
		}
		err := create("c")
		wantCode(t, err, openrunner.EQUOTA)
		if want := "You have reached the maximum number of services (2) for this account in this Region."; len(openrunner.ErrorMessage(err)) < len(want) || openrunner.ErrorMessage(err)[:len(want)] != want {
			t.Fatalf("message = %q, want it to start with %q", openrunner.ErrorMessage(err), want)
		}
		// CREATE_FAILED services count.
		mustFinish(t, s, aop, a, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
		wantCode(t, create("c"), openrunner.EQUOTA)
		mustCreateService(t, s, ScopeB, "c") // quotas are per Scope
		mustCreateService(t, s, ScopeC, "c")

		// DELETED services do not, and leave the quota exactly once.
		mustFinish(t, s, bop, b, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		deleted := mustDeleteService(t, s, b)
		if err := s.Services.FinishOperation(context.Background(), bop, deleted); err == nil {
			t.Fatal("finishing a finished operation again succeeded")
		}
		if err := create("c"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, create("d"), openrunner.EQUOTA)
		if got := serviceNames(t, s, ScopeA); got != "[a c]" {
			t.Fatalf("services = %s, want [a c]", got)
		}
	})

	t.Run("ErrTooManyTags", func(t *testing.T) {
		s := open(t, openrunner.Quotas{Services: 1})
		var tags []openrunner.Tag
		for i := range openrunner.MaxTagsPerResource + 1 {
			tags = append(tags, openrunner.Tag{Key: fmt.Sprintf("k%02d", i), Value: "v"})
		}
		err := s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: "tagged", Config: imageConfig()},
			&openrunner.Operation{Type: openrunner.OperationCreateService}, tags)
		wantCode(t, err, openrunner.EINVALID)
		if got := serviceNames(t, s, ScopeA); got != "[]" {
			t.Fatalf("a failed create left services %s", got)
		}
		mustCreateService(t, s, ScopeA, "tagged", tags[:openrunner.MaxTagsPerResource]...)
	})

	t.Run("StartOperation", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, createOp := mustCreateService(t, s, ScopeA, "web")
		before := mustFindService(t, s, ScopeA, svc.ARN())

		// apply's error comes back as it is, and nothing is written even
		// though apply changed the service.
		busy := openrunner.Errorf(openrunner.EINVALIDSTATE, "busy")
		calls := 0
		got, err := s.Services.StartOperation(Ctx(ScopeA), svc.ARN(), &openrunner.Operation{Type: openrunner.OperationUpdateService},
			func(cur *openrunner.Service) error {
				calls++
				cur.Config.Instance.CPU = "4096"
				cur.Config.Source.Image.Env["NEW"] = "1"
				cur.Status = openrunner.ServicePaused
				return busy
			})
		if !errors.Is(err, busy) || got != nil || calls != 1 {
			t.Fatalf("StartOperation = %+v, %v after %d calls; want nil, %v after 1", got, err, calls, busy)
		}
		wantEqual(t, "after a refused operation", mustFindService(t, s, ScopeA, svc.ARN()), before)
		if ops := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{}); len(ops.Operations) != 1 {
			t.Fatalf("a refused operation left %d operations, want 1", len(ops.Operations))
		}

		// apply sees the stored service; what it changes is stored (an
		// auto scaling configuration must exist and be active).
		high := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0)
		high = mustCreateASC(t, s, ScopeA, "high", 0, 0, 0)
		desired := codeConfig()
		op := &openrunner.Operation{Type: openrunner.OperationUpdateService, Desired: &desired}
		got, err = s.Services.StartOperation(Ctx(ScopeA), svc.ARN(), op, func(cur *openrunner.Service) error {
			wantEqual(t, "service seen by apply", cur, before)
			cur.Config.Instance.CPU = "4096"
			cur.Config.Source.Image.Env["NEW"] = "1"
			cur.AutoScalingConfigurationARN = high.ARN()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != openrunner.ServiceOperationInProgress || got.Config.Instance.CPU != "4096" ||
			got.Config.Source.Image.Env["NEW"] != "1" || got.UpdatedAt.Before(before.UpdatedAt) ||
			!got.CreatedAt.Equal(before.CreatedAt) || got.ID != svc.ID || got.URLPrefix != svc.URLPrefix {
			t.Fatalf("started service = %+v", got)
		}
		if !uuidRE.MatchString(op.ID) || op.ID == createOp.ID || op.ServiceARN != svc.ARN() || op.Status != openrunner.OperationPending ||
			op.Type != openrunner.OperationUpdateService || !op.StartedAt.Equal(got.UpdatedAt) || !op.UpdatedAt.Equal(op.StartedAt) ||
			!op.EndedAt.IsZero() || op.Seq <= createOp.Seq {
			t.Fatalf("started operation = %+v", op)
		}
		wantEqual(t, "stored service", mustFindService(t, s, ScopeA, svc.ARN()), got)
		ops := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{})
		if got, want := fmt.Sprint(operationIDs(ops.Operations)), fmt.Sprint([]string{op.ID, createOp.ID}); got != want {
			t.Fatalf("operations = %s, want %s", got, want)
		}
		wantEqual(t, "stored operation", ops.Operations[0], op)

		// Unknown services, and services of other Scopes, are not found and
		// apply is not called.
		calls = 0
		count := func(*openrunner.Service) error { calls++; return nil }
		unknown := openrunner.NewARN(ScopeA, openrunner.ResourceService, "web", openrunner.NewID())
		_, err = s.Services.StartOperation(Ctx(ScopeA), unknown, &openrunner.Operation{Type: openrunner.OperationStartDeployment}, count)
		wantCode(t, err, openrunner.ENOTFOUND)
		for _, scope := range []openrunner.Scope{ScopeB, ScopeC} {
			_, err = s.Services.StartOperation(Ctx(scope), svc.ARN(), &openrunner.Operation{Type: openrunner.OperationStartDeployment}, count)
			wantCode(t, err, openrunner.ENOTFOUND)
		}
		if calls != 0 {
			t.Fatalf("apply called %d times for services that are not there", calls)
		}
	})

	t.Run("FinishOperation", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, op := mustCreateService(t, s, ScopeA, "web")
		bg := context.Background() // the operations engine has no Scope

		op.Status, op.Step = openrunner.OperationInProgress, "build"
		op.CommitID = "9fceb02d0ae598e95dc970b74767f19372d61af8"
		if err := s.Services.UpdateOperation(bg, op); err != nil {
			t.Fatal(err)
		}
		if op.UpdatedAt.Before(op.StartedAt) {
			t.Fatalf("UpdatedAt %v before StartedAt %v", op.UpdatedAt, op.StartedAt)
		}
		ops := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{})
		wantEqual(t, "updated operation", ops.Operations[0], op)

		cur, err := s.Services.FindServiceForOperation(bg, op)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "FindServiceForOperation", cur, svc)
		rev := &openrunner.Revision{
			ID:         openrunner.NewID(),
			Config:     cur.Config,
			ImageID:    "sha256:9e0ac4c1e8b2c3a2a26e5c1b0f0d9f1c2e3d4a5b6c7d8e9f0a1b2c3d4e5f6a7b",
			DeployedAt: time.Date(2025, 3, 1, 12, 30, 45, 123456789, time.UTC),
			Build: &openrunner.BuiltRevision{
				CommitID: op.CommitID, Image: "openrunner-build/" + cur.ID + ":1", StartCommand: "python3 app.py",
				Port: 8000, PortEnv: "APP_PORT", Env: map[string]string{"GREETING": "hi"},
			},
		}
		cur.Active = rev
		op.Step, op.Message = "done", ""
		mustFinish(t, s, op, cur, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		if op.EndedAt.IsZero() || !op.UpdatedAt.Equal(op.EndedAt) || !cur.UpdatedAt.Equal(op.EndedAt) || !cur.DeletedAt.IsZero() {
			t.Fatalf("finished: operation %+v, service %+v", op, cur)
		}

		stored := mustFindService(t, s, ScopeA, svc.ARN())
		if stored.Status != openrunner.ServiceRunning {
			t.Fatalf("status = %s, want RUNNING", stored.Status)
		}
		wantEqual(t, "active revision", stored.Active, rev)
		wantEqual(t, "stored service", stored, cur)
		ops = mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{})
		wantEqual(t, "finished operation", ops.Operations[0], op)
		if ops.Operations[0].Status != openrunner.OperationSucceeded || ops.Operations[0].EndedAt.IsZero() {
			t.Fatalf("stored operation = %+v", ops.Operations[0])
		}
		unfinished, err := s.Services.UnfinishedOperations(bg)
		if err != nil || len(unfinished) != 0 {
			t.Fatalf("UnfinishedOperations = %v, %v; want none", operationIDs(unfinished), err)
		}

		// A finished operation stays finished.
		if err := s.Services.FinishOperation(bg, op, cur); err == nil {
			t.Fatal("FinishOperation of a finished operation succeeded")
		}
		again := *op
		again.Status = openrunner.OperationInProgress
		if err := s.Services.UpdateOperation(bg, &again); err == nil {
			t.Fatal("UpdateOperation of a finished operation succeeded")
		}
		wantEqual(t, "operation after late writes", mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{}).Operations[0], op)
		missing := &openrunner.Operation{ID: openrunner.NewUUID(), Status: openrunner.OperationInProgress}
		wantCode(t, s.Services.UpdateOperation(bg, missing), openrunner.ENOTFOUND)
		missing.Status = openrunner.OperationFailed
		wantCode(t, s.Services.FinishOperation(bg, missing, cur), openrunner.ENOTFOUND)
	})

	t.Run("FindOperationsPages", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, op := mustCreateService(t, s, ScopeA, "web")
		other, _ := mustCreateService(t, s, ScopeA, "other")
		ids := []string{op.ID}
		for i := range 6 {
			target := svc
			if i == 2 {
				target = other // operations of other services are not listed
			}
			next := &openrunner.Operation{Type: openrunner.OperationStartDeployment}
			if _, err := s.Services.StartOperation(Ctx(ScopeA), target.ARN(), next, noApply); err != nil {
				t.Fatal(err)
			}
			if target == svc {
				ids = append([]string{next.ID}, ids...) // newest first
			}
		}
		want := fmt.Sprint(ids)

		all := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{})
		if got := fmt.Sprint(operationIDs(all.Operations)); got != want || all.Next != 0 {
			t.Fatalf("operations = %s, next %d; want %s, 0", got, all.Next, want)
		}
		var got []string
		f := openrunner.OperationFilter{Limit: 2}
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			p := mustFindOperations(t, s, ScopeA, svc.ARN(), f)
			got = append(got, operationIDs(p.Operations)...)
			if p.Next == 0 {
				break
			}
			f.Before = p.Next
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("paged operations = %v, want %s", got, want)
		}
		// --max-results 1 gives the latest operation.
		if p := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{Limit: 1}); len(p.Operations) != 1 || p.Operations[0].ID != ids[0] || p.Next == 0 {
			t.Fatalf("Limit 1: %v, next %d", operationIDs(p.Operations), p.Next)
		}
		// An exact page: no further page is announced.
		if p := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{Limit: len(ids)}); len(p.Operations) != len(ids) || p.Next != 0 {
			t.Fatalf("Limit %d: %d operations, next %d", len(ids), len(p.Operations), p.Next)
		}

		unknown := openrunner.NewARN(ScopeA, openrunner.ResourceService, "web", openrunner.NewID())
		_, err := s.Services.FindOperations(Ctx(ScopeA), unknown, openrunner.OperationFilter{})
		wantCode(t, err, openrunner.ENOTFOUND)
	})

	t.Run("UnfinishedOperationsAcrossScopes", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		bg := context.Background()
		a, aop := mustCreateService(t, s, ScopeA, "svc")
		b, bop := mustCreateService(t, s, ScopeB, "svc")
		c, cop := mustCreateService(t, s, ScopeC, "svc")
		mustFinish(t, s, bop, b, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		pause := &openrunner.Operation{Type: openrunner.OperationPauseService}
		if _, err := s.Services.StartOperation(Ctx(ScopeB), b.ARN(), pause, noApply); err != nil {
			t.Fatal(err)
		}
		cop.Status = openrunner.OperationInProgress
		if err := s.Services.UpdateOperation(bg, cop); err != nil {
			t.Fatal(err)
		}

		ops, err := s.Services.UnfinishedOperations(bg)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(operationIDs(ops)), fmt.Sprint([]string{aop.ID, cop.ID, pause.ID}); got != want {
			t.Fatalf("unfinished = %s, want %s (oldest first)", got, want)
		}
		wantEqual(t, "unfinished operation", ops[1], cop)
		for i, want := range []*openrunner.Service{a, c, b} {
			if ops[i].ServiceARN != want.ARN() {
				t.Fatalf("operation %d: ServiceARN = %s, want %s", i, ops[i].ServiceARN, want.ARN())
			}
			got, err := s.Services.FindServiceForOperation(bg, ops[i])
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "FindServiceForOperation", got, mustFindService(t, s, want.Scope, want.ARN()))
		}
		_, err = s.Services.FindServiceForOperation(bg, &openrunner.Operation{ID: openrunner.NewUUID()})
		wantCode(t, err, openrunner.ENOTFOUND)
	})

	t.Run("FindServicesByStatusAcrossScopes", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		a, aop := mustCreateService(t, s, ScopeA, "svc")
		b, bop := mustCreateService(t, s, ScopeB, "svc")
		mustCreateService(t, s, ScopeC, "svc") // stays OPERATION_IN_PROGRESS
		mustFinish(t, s, aop, a, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		mustFinish(t, s, bop, b, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
		got, err := s.Services.FindServicesByStatus(context.Background(), openrunner.ServiceRunning, openrunner.ServiceCreateFailed)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ARN() != a.ARN() || got[1].ARN() != b.ARN() || got[0].Status != openrunner.ServiceRunning {
			t.Fatalf("FindServicesByStatus = %v", got)
		}
		none, err := s.Services.FindServicesByStatus(context.Background(), openrunner.ServicePaused)
		if err != nil || len(none) != 0 {
			t.Fatalf("PAUSED: %v, %v", none, err)
		}
	})

	t.Run("ScopeIsolation", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		a, _ := mustCreateService(t, s, ScopeA, "shared")
		b, _ := mustCreateService(t, s, ScopeB, "shared")
		mustCreateService(t, s, ScopeC, "only-c")
		for _, scope := range []openrunner.Scope{ScopeB, ScopeC} {
			_, err := s.Services.FindServiceByARN(Ctx(scope), a.ARN())
			wantCode(t, err, openrunner.ENOTFOUND)
			_, err = s.Services.FindOperations(Ctx(scope), a.ARN(), openrunner.OperationFilter{})
			wantCode(t, err, openrunner.ENOTFOUND)
		}
		// An ARN rewritten to name another account's service does not reach it.
		forged := openrunner.NewARN(ScopeA, openrunner.ResourceService, "shared", b.ID)
		_, err := s.Services.FindServiceByARN(Ctx(ScopeA), forged)
		wantCode(t, err, openrunner.ENOTFOUND)
		_, err = s.Services.FindOperations(Ctx(ScopeA), forged, openrunner.OperationFilter{})
		wantCode(t, err, openrunner.ENOTFOUND)

		for scope, want := range map[openrunner.Scope]string{ScopeA: "[shared]", ScopeB: "[shared]", ScopeC: "[only-c]"} {
			p, err := s.Services.FindServices(Ctx(scope), openrunner.ServiceFilter{})
			if err != nil || len(p.Services) != 1 || fmt.Sprint([]string{p.Services[0].Name}) != want || p.Services[0].Scope != scope {
				t.Fatalf("FindServices in %v = %+v, %v", scope, p, err)
			}
		}
	})

	t.Run("ListPages", func(t *testing.T) {
		s := open(t, openrunner.Quotas{Services: 100})
		var want []string
		for i := range 8 {
			svc, _ := mustCreateService(t, s, ScopeA, fmt.Sprintf("svc-%02d", i))
			if i == 3 {
				mustDeleteService(t, s, svc)
				continue
			}
			want = append(want, svc.ID)
		}
		mustCreateService(t, s, ScopeB, "other")

		var got []string
		f := openrunner.ServiceFilter{Limit: 3}
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			p, err := s.Services.FindServices(Ctx(ScopeA), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, svc := range p.Services {
				got = append(got, svc.ID)
			}
			if p.Next == 0 {
				break
			}
			f.After = p.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("paged ids = %v, want %v", got, want)
		}
		p, err := s.Services.FindServices(Ctx(ScopeA), openrunner.ServiceFilter{Limit: len(want)})
		if err != nil || len(p.Services) != len(want) || p.Next != 0 {
			t.Fatalf("Limit %d: %d services, next %d, err %v", len(want), len(p.Services), p.Next, err)
		}
	})

	t.Run("Deleted", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		// The CREATE_SERVICE operation is left unfinished, to be finished late below.
		svc, op := mustCreateService(t, s, ScopeA, "gone", openrunner.Tag{Key: "k", Value: "v"})
		mustCreateService(t, s, ScopeA, "stays")
		deleted := mustDeleteService(t, s, svc)
		if deleted.DeletedAt.IsZero() || !deleted.DeletedAt.Equal(deleted.UpdatedAt) {
			t.Fatalf("deleted service = %+v", deleted)
		}

		got := mustFindService(t, s, ScopeA, svc.ARN())
		if got.Status != openrunner.ServiceDeleted || !got.DeletedAt.Equal(deleted.DeletedAt) {
			t.Fatalf("FindServiceByARN of a deleted service = %+v", got)
		}
		wantEqual(t, "deleted service", got, deleted)
		if names := serviceNames(t, s, ScopeA); names != "[stays]" {
			t.Fatalf("services = %s, want [stays]", names)
		}
		_, err := s.Services.StartOperation(Ctx(ScopeA), svc.ARN(), &openrunner.Operation{Type: openrunner.OperationDeleteService},
			func(*openrunner.Service) error { t.Fatal("apply called for a deleted service"); return nil })
		wantCode(t, err, openrunner.ENOTFOUND)

		ops := mustFindOperations(t, s, ScopeA, svc.ARN(), openrunner.OperationFilter{})
		if len(ops.Operations) != 2 || ops.Operations[0].Type != openrunner.OperationDeleteService ||
			ops.Operations[0].Status != openrunner.OperationSucceeded || ops.Operations[1].ID != op.ID ||
			ops.Operations[1].Status != openrunner.OperationPending {
			t.Fatalf("operations of a deleted service = %+v", ops.Operations)
		}
		// The tags of a DELETED service stay listable until it is purged.
		tags, err := s.Tags.ListTags(Ctx(ScopeA), svc.ARN())
		if err != nil || fmt.Sprint(tags) != "[{k v}]" {
			t.Fatalf("tags of a deleted service = %v, %v", tags, err)
		}
		// A DELETED service cannot come back, not even through an operation
		// that was still unfinished.
		late := *got
		late.Status = openrunner.ServiceRunning
		op.Status = openrunner.OperationSucceeded
		if err := s.Services.FinishOperation(context.Background(), op, &late); err == nil {
			t.Fatal("a DELETED service was finished back to RUNNING")
		}
		wantEqual(t, "deleted service after a late finish", mustFindService(t, s, ScopeA, svc.ARN()), deleted)
	})

	t.Run("State", func(t *testing.T) { testServiceState(t, open) })

	t.Run("URLPrefixes", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		seen := map[string]bool{}
		for _, scope := range []openrunner.Scope{ScopeA, ScopeB, ScopeC} {
			for i := range 8 {
				svc, _ := mustCreateService(t, s, scope, fmt.Sprintf("svc-%d", i))
				if !urlPrefixRE.MatchString(svc.URLPrefix) || seen[svc.URLPrefix] {
					t.Fatalf("URL prefix %q is not 10 characters of [a-z0-9] or repeats", svc.URLPrefix)
				}
				seen[svc.URLPrefix] = true
				if got := mustFindService(t, s, scope, svc.ARN()).URLPrefix; got != svc.URLPrefix {
					t.Fatalf("stored URL prefix = %q, want %q", got, svc.URLPrefix)
				}
			}
		}
	})
}
