package logs

import (
	"github.com/openrunner/openrunner"
)

// StreamEvents is the stream of a service's lifecycle events in
// GroupService: what App Runner's console shows as the service's event log.
const StreamEvents = "events"

// DeploymentStream returns the stream of one operation's events in
// GroupService, "deployment/<operation-id>": what App Runner's console
// shows as a deployment's log.
func DeploymentStream(operationID string) string { return "deployment/" + operationID }

// InstanceStream returns the stream of one instance's output in
// GroupApplication, "instance/<instance-id>", as App Runner names it.
func InstanceStream(instanceID string) string { return "instance/" + instanceID }

// LogGroupName returns App Runner's CloudWatch name of a service's log
// group: /aws/apprunner/<service-name>/<service-id>/<group>. Returns
// EINVALID if serviceARN is not a service ARN or group is unknown.
func LogGroupName(serviceARN, group string) (string, error) {
	a, err := openrunner.ParseARN(serviceARN)
	if err != nil {
		return "", err
	}
	if a.Type != openrunner.ResourceService || len(a.Path) != 2 {
		return "", openrunner.Errorf(openrunner.EINVALID, "The ARN you specified isn't a valid App Runner service ARN. ARN: '%s'", openrunner.Truncate(serviceARN, 200))
	}
	if _, ok := groupIndex(group); !ok {
		return "", openrunner.Errorf(openrunner.EINVALID, "Unknown log group %q: use %q or %q.", openrunner.Truncate(group, 100), GroupService, GroupApplication)
	}
	return "/aws/apprunner/" + a.Path[0] + "/" + a.Path[1] + "/" + group, nil
}
