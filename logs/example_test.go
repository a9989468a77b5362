package logs_test

import (
	"context"
	"fmt"
	"os"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/logs"
)

// A deployer writes App Runner's event lines; the API reads them a page at
// a time.
func Example() {
	dir, _ := os.MkdirTemp("", "logs")
	defer os.RemoveAll(dir)
	s, err := logs.Open(dir, logs.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	arn := "arn:aws:apprunner:us-east-1:000000000000:service/web/0123456789abcdef0123456789abcdef"
	op := "7f05c575-29fb-4b5c-b119-1af5be19fc14"
	hc := openrunner.HealthCheckConfig{Protocol: "TCP"}
	for _, line := range []string{
		logs.OperationStarted(openrunner.OperationCreateService),
		logs.StatusSet(openrunner.ServiceOperationInProgress),
		logs.DeploymentStarted(op, logs.Trigger(openrunner.OperationCreateService)),
		logs.HealthCheckStarted(hc, "8080"),
		logs.HealthCheckSucceeded,
		logs.OperationCompleted(openrunner.OperationCreateService),
		logs.StatusSet(openrunner.ServiceRunning),
	} {
		if err := s.AppendEvent(arn, logs.StreamEvents, line); err != nil {
			panic(err)
		}
	}

	q := logs.Query{ServiceARN: arn, Group: logs.GroupService, Limit: 4}
	for {
		entries, next, err := s.Read(context.Background(), q)
		if err != nil {
			panic(err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			fmt.Println(e.Text)
		}
		q.After = next
	}
	// Output:
	// [AppRunner] Service creation started.
	// [AppRunner] Service status is set to OPERATION_IN_PROGRESS.
	// [AppRunner] Deployment with ID : 7f05c575-29fb-4b5c-b119-1af5be19fc14 started. Triggering event : SERVICE_CREATE
	// [AppRunner] Performing health check on protocol `TCP` [Port: '8080'].
	// [AppRunner] Health check is successful. Routing traffic to application.
	// [AppRunner] Service creation completed successfully.
	// [AppRunner] Service status is set to RUNNING.
}
