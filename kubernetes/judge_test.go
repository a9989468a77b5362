package kubernetes

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/openrunner/openrunner"
)

func TestNames(t *testing.T) {
	arns := []string{
		"arn:aws:apprunner:us-east-1:123456789012:service/hello/0123456789abcdef0123456789abcdef",
		"arn:aws:apprunner:us-east-1:123456789012:service/" + strings.Repeat("Very_Long-Name.", 3) + "/x",
		"arn:aws:apprunner:us-east-1:123456789012:service/-9-/y",
		"no-slash",
	}
	for _, arn := range arns {
		for _, rev := range []string{"0a1b2c3d", strings.Repeat("r", 80)} {
			n := objectName(arn, rev)
			// The Pods are named <name>-<10>-<5>: still a DNS label.
			if errs := validation.IsDNS1123Label(n + "-0123456789-abcde"); len(errs) > 0 {
				t.Errorf("objectName(%q, %q) = %q: %v", arn, rev, n, errs)
			}
			for _, v := range []string{serviceLabel(arn), labelValue(rev), labelValue(arn)} {
				if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
					t.Errorf("label value %q: %v", v, errs)
				}
			}
		}
		if objectName(arn, "a") == objectName(arn, "b") {
			t.Errorf("two revisions of %s share a name", arn)
		}
	}
}

func pod(name string, cs corev1.ContainerStatus, conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.PodStatus{PodIP: "10.244.0.9", Conditions: conds, ContainerStatuses: []corev1.ContainerStatus{cs}}}
}

// TestJudge: each way a Pod fails gives a failure with the reason a user
// acts on, and the Pods to replace are those that were ready.
func TestJudge(t *testing.T) {
	now := time.Now()
	hc := openrunner.HealthCheckConfig{Protocol: "TCP", Interval: 1, Timeout: 1, HealthyThreshold: 1, UnhealthyThreshold: 2}
	newRev := func() *revision {
		return &revision{hc: hc, seen: map[string]bool{}, wasReady: map[string]bool{}, judged: map[string]bool{}}
	}
	running := func(since time.Time) corev1.ContainerState {
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(since)}}
	}
	cases := []struct {
		name      string
		pod       *corev1.Pod
		wasReady  bool
		reason    string
		code      int
		message   string
		replace   bool
		noFailure bool
	}{
		{name: "pull", pod: pod("p", corev1.ContainerStatus{Image: "r/x:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}),
			reason: openrunner.FailureStart, code: -1, message: "Failed to pull image r/x:1 (ImagePullBackOff)"},
		{name: "crashloop", pod: pod("p", corev1.ContainerStatus{ContainerID: "c2", RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "c1", ExitCode: 3, Reason: "Error"}}}),
			reason: openrunner.FailureExited, code: 3, message: "exited with code 3 (Error), CrashLoopBackOff"},
		{name: "exit after ready", wasReady: true, pod: pod("p", corev1.ContainerStatus{ContainerID: "c2", RestartCount: 1, State: running(now),
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "c1", ExitCode: 7}}}),
			reason: openrunner.FailureExited, code: 7, message: "exited with code 7", replace: true},
		{name: "unschedulable", pod: pod("p", corev1.ContainerStatus{}, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient cpu."}),
			reason: openrunner.FailureStart, code: -1, message: "Unschedulable): 0/1 nodes are available: 1 Insufficient cpu."},
		{name: "unhealthy after ready", wasReady: true, pod: pod("p", corev1.ContainerStatus{ContainerID: "c1", State: running(now.Add(-time.Minute))}),
			reason: openrunner.FailureUnhealthy, code: -1, message: "2 health checks failed in a row", replace: true},
		{name: "never ready", pod: pod("p", corev1.ContainerStatus{ContainerID: "c1", State: running(now.Add(-time.Minute))}),
			reason: openrunner.FailureUnhealthy, code: -1, message: "never passed", replace: true},
		{name: "starting", pod: pod("p", corev1.ContainerStatus{ContainerID: "c1", State: running(now.Add(-time.Second))}), noFailure: true},
		{name: "ready", pod: pod("p", corev1.ContainerStatus{ContainerID: "c1", Ready: true, State: running(now.Add(-time.Minute))}), noFailure: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rev := newRev()
			rev.wasReady["p"] = c.wasReady
			fs, replace := judge(c.pod, rev, now)
			if replace != c.replace {
				t.Errorf("replace = %v, want %v", replace, c.replace)
			}
			if c.noFailure {
				if len(fs) != 0 {
					t.Errorf("failures %+v, want none", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("failures %+v, want one", fs)
			}
			f := fs[0]
			if f.Reason != c.reason || f.ExitCode != c.code || !strings.Contains(f.Message, c.message) || f.BeforeReady == c.wasReady || f.InstanceID != "p" {
				t.Errorf("failure %+v, want reason %s, code %d, message with %q, BeforeReady %v", f.InstanceFailure, c.reason, c.code, c.message, !c.wasReady)
			}
		})
	}
}
