package kubernetes

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/openrunner/openrunner"
)

// podOf returns the Pod of an informer event, tombstones included.
func podOf(obj any) (*corev1.Pod, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	return p, ok && p.Annotations[AnnotationServiceARN] != ""
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podEvent notes that one of the revision's Pods changed, and follows the
// output of its new containers.
func (r *Runtime) podEvent(p *corev1.Pod) {
	arn, id := p.Annotations[AnnotationServiceARN], p.Annotations[AnnotationRevision]
	if r.adopting.Load() {
		r.mu.Lock()
		r.atOpen[string(p.UID)] = true
		r.mu.Unlock()
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.ContainerID == "" || cs.State.Waiting != nil {
			continue
		}
		if _, dup := r.followed.LoadOrStore(cs.ContainerID, struct{}{}); dup {
			continue
		}
		r.followOutput(p, cs.ContainerID)
	}
	r.kick(key(arn, id))
}

// forget drops what the runtime remembers of a deleted Pod.
func (r *Runtime) forget(p *corev1.Pod) {
	for _, cs := range p.Status.ContainerStatuses {
		r.followed.Delete(cs.ContainerID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.atOpen, string(p.UID))
	if rev := r.revs[key(p.Annotations[AnnotationServiceARN], p.Annotations[AnnotationRevision])]; rev != nil {
		delete(rev.wasReady, p.Name)
		delete(rev.judged, p.Name)
	}
}

// kick queues a revision for examination by the loop.
func (r *Runtime) kick(k string) {
	r.mu.Lock()
	r.pending[k] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// loop examines the revisions whose Pods changed, and every second those
// with Pods that are not ready (readiness that never passes changes
// nothing in a Pod's status).
func (r *Runtime) loop() {
	defer r.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-tick.C:
			r.mu.Lock()
			for k := range r.revs {
				r.pending[k] = true
			}
			r.mu.Unlock()
		}
		r.mu.Lock()
		keys := make([]string, 0, len(r.pending))
		for k := range r.pending {
			keys = append(keys, k)
		}
		clear(r.pending)
		r.mu.Unlock()
		for _, k := range keys {
			arn, id, _ := strings.Cut(k, "\x00")
			r.examine(arn, id)
		}
	}
}

// revisionPods returns the revision's Pods as the informer sees them.
func (r *Runtime) revisionPods(arn, id string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, obj := range r.pods.GetStore().List() {
		if p, ok := obj.(*corev1.Pod); ok && p.Annotations[AnnotationServiceARN] == arn && p.Annotations[AnnotationRevision] == id {
			out = append(out, p)
		}
	}
	return out
}

// examine records the failures of the revision's Pods, deletes the ones to
// replace, and calls the Changed hook when the status changed.
func (r *Runtime) examine(arn, id string) {
	if _, ok, _ := r.deploys.GetStore().GetByKey(r.ns + "/" + objectName(arn, id)); !ok {
		r.mu.Lock()
		_, known := r.revs[key(arn, id)]
		r.mu.Unlock()
		if !known {
			return
		}
	}
	rev := r.revisionFor(arn, id)
	var replace []*corev1.Pod
	now := r.now()
	r.mu.Lock()
	for _, p := range r.revisionPods(arn, id) {
		if p.DeletionTimestamp != nil {
			continue
		}
		// The first look at a Pod listed at Open: what it shows happened
		// before this run and was told then.
		baseline := r.atOpen[string(p.UID)] && !rev.judged[p.Name]
		rev.judged[p.Name] = true
		fs, again := judge(p, rev, now)
		for _, f := range fs {
			if rev.seen[f.key] {
				continue
			}
			rev.seen[f.key] = true
			if baseline {
				continue // a failure from before this run
			}
			r.fail(rev, f.InstanceFailure)
		}
		if again {
			replace = append(replace, p)
		}
	}
	fp := fingerprint(r.statusLocked(rev, r.revisionPods(arn, id)))
	changed := fp != rev.last
	rev.last = fp
	r.mu.Unlock()
	for _, p := range replace {
		// Gracefully: the Pod's IP answers nothing once it is gone.
		one := int64(1)
		if err := r.client.CoreV1().Pods(r.ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &one}); err != nil && !apierrors.IsNotFound(err) {
			r.logger.Warn("replacing a failed Pod", "pod", p.Name, "error", err)
		}
	}
	if changed {
		r.changed(arn)
	}
}

// fail records f. r.mu is held.
func (r *Runtime) fail(rev *revision, f openrunner.InstanceFailure) {
	rev.failures = append(rev.failures, f)
	if n := len(rev.failures); n > openrunner.MaxRevisionFailures {
		rev.failures = rev.failures[n-openrunner.MaxRevisionFailures:]
	}
	rev.failureCount++
	r.logger.Info("instance failed", "service", rev.serviceARN, "revision", rev.id, "instance", f.InstanceID, "reason", f.Reason, "message", f.Message)
}

func (r *Runtime) changed(arn string) {
	if r.hooks.Changed != nil {
		r.hooks.Changed(arn)
	}
}

// keyedFailure is a failure and what identifies it among a Pod's states,
// so that each is recorded once.
type keyedFailure struct {
	openrunner.InstanceFailure
	key string
}

// pullReasons are the waiting reasons of an image that cannot be pulled.
var pullReasons = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}

// startReasons are the waiting reasons of a container that cannot start.
var startReasons = []string{"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}

// judge returns the failures a Pod shows and whether it must be replaced:
// one that was ready and exited or stopped passing its readiness probe, or
// one whose probe never passed. r.mu is held.
func judge(p *corev1.Pod, rev *revision, now time.Time) ([]keyedFailure, bool) {
	var out []keyedFailure
	before := !rev.wasReady[p.Name]
	add := func(k, reason string, code int, msg string) {
		out = append(out, keyedFailure{key: p.Name + "/" + k, InstanceFailure: openrunner.InstanceFailure{
			InstanceID: p.Name, At: now, Reason: reason, ExitCode: code, Message: msg, BeforeReady: before}})
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			add("unschedulable", openrunner.FailureStart, -1, "The instance could not be scheduled on the cluster (Unschedulable): "+c.Message)
		}
	}
	replace := false
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch {
			case slices.Contains(pullReasons, w.Reason):
				add("pull", openrunner.FailureStart, -1, fmt.Sprintf("Failed to pull image %s (%s): %s", cs.Image, w.Reason, w.Message))
			case slices.Contains(startReasons, w.Reason):
				add(w.Reason+"/"+strconv.Itoa(int(cs.RestartCount)), openrunner.FailureStart, -1,
					fmt.Sprintf("The instance could not start (%s): %s", w.Reason, w.Message))
			}
		}
		t := cs.State.Terminated
		if t == nil {
			t = cs.LastTerminationState.Terminated
		}
		if t != nil && t.ContainerID != "" {
			reason, msg := openrunner.FailureExited, fmt.Sprintf("The application exited with code %d (%s)", t.ExitCode, t.Reason)
			if t.Reason == "StartError" || t.Reason == "ContainerCannotRun" {
				reason, msg = openrunner.FailureStart, "The instance could not start: "+t.Message
			}
			if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
				msg += ", CrashLoopBackOff"
			}
			add("exit/"+t.ContainerID, reason, int(t.ExitCode), msg)
			if !before {
				replace = true
				continue // replaced: its restarted container is not judged
			}
		}
		if cs.Ready {
			rev.wasReady[p.Name] = true
		}
		if r := cs.State.Running; r != nil && !cs.Ready {
			switch {
			case !before:
				add("unhealthy/"+cs.ContainerID, openrunner.FailureUnhealthy, -1,
					fmt.Sprintf("%d health checks failed in a row", max(rev.hc.UnhealthyThreshold, 1)))
				replace = true
			case now.Sub(r.StartedAt.Time) > neverReadyAfter(rev.hc):
				add("never/"+cs.ContainerID, openrunner.FailureUnhealthy, -1,
					fmt.Sprintf("The health check never passed in %v", neverReadyAfter(rev.hc).Round(time.Second)))
				replace = true
			}
		}
	}
	return out, replace
}

// neverReadyAfter is how long a started instance may take to pass its
// first health check: its failure threshold of checks, each its interval
// and timeout, and 10 s of start-up.
func neverReadyAfter(hc openrunner.HealthCheckConfig) time.Duration {
	per := time.Duration(orDefault(hc.Interval, 5)+orDefault(hc.Timeout, 2)) * time.Second
	return time.Duration(orDefault(hc.UnhealthyThreshold, 5)+orDefault(hc.HealthyThreshold, 1))*per + 10*time.Second
}

// status is the revision's status from the informer's Pods.
func (r *Runtime) status(arn, id string, d *appsv1.Deployment) openrunner.RevisionStatus {
	pods := r.revisionPods(arn, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	rev := r.revs[key(arn, id)]
	if rev == nil {
		rev = &revision{serviceARN: arn, id: id, replicas: -1}
		if p, err := strconv.Atoi(d.Annotations[AnnotationPort]); err == nil {
			rev.port = p
		}
	}
	return r.statusLocked(rev, pods)
}

// statusLocked is status with r.mu held.
func (r *Runtime) statusLocked(rev *revision, pods []*corev1.Pod) openrunner.RevisionStatus {
	st := openrunner.RevisionStatus{ServiceARN: rev.serviceARN, RevisionID: rev.id, Replicas: rev.replicas,
		Failures: slices.Clone(rev.failures), FailureCount: rev.failureCount}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if !podReady(p) {
			st.Starting++
			continue
		}
		port := rev.port
		if v, err := strconv.Atoi(p.Annotations[AnnotationPort]); err == nil {
			port = v
		}
		st.Ready = append(st.Ready, openrunner.Endpoint{InstanceID: p.Name,
			Addr: net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port)), StartedAt: startedAt(p)})
	}
	slices.SortFunc(st.Ready, func(a, b openrunner.Endpoint) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.InstanceID, b.InstanceID)
	})
	return st
}

// startedAt is when the Pod's container started, else the Pod.
func startedAt(p *corev1.Pod) time.Time {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil {
			return cs.State.Running.StartedAt.Time
		}
	}
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return p.CreationTimestamp.Time
}

// fingerprint is what the Changed hook tells about: ready instances, the
// count starting and the failures.
func fingerprint(st openrunner.RevisionStatus) string {
	var b strings.Builder
	for _, e := range st.Ready {
		b.WriteString(e.InstanceID + " ")
	}
	fmt.Fprintf(&b, "| %d %d", st.Starting, st.FailureCount)
	return b.String()
}
