package kubernetes

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openrunner/openrunner"
)

// followOutput follows a new container's output into the Output hook's
// sink: from its start, or from now for the Pods listed at Open.
func (r *Runtime) followOutput(p *corev1.Pod, containerID string) {
	if r.hooks.Output == nil {
		return
	}
	arn, id := p.Annotations[AnnotationServiceARN], p.Annotations[AnnotationRevision]
	in := &openrunner.Instance{ID: p.Name, ServiceARN: arn, RevisionID: id, StartedAt: startedAt(p), Labels: p.Labels}
	if p.Status.PodIP != "" {
		in.Addr = net.JoinHostPort(p.Status.PodIP, p.Annotations[AnnotationPort])
	}
	sink := r.hooks.Output(in)
	if sink == nil {
		return
	}
	var since time.Time
	if r.adopting.Load() {
		since = r.now()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-r.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := r.follow(ctx, p.Name, since, sink); err != nil && ctx.Err() == nil {
			r.logger.Debug("following a Pod's output", "pod", p.Name, "container", containerID, "error", err)
		}
	}()
}

// FollowLogs sends the Pod's output to sink from since on, until ctx ends
// or the container ends. The Pod log API merges stdout and stderr, so
// every line is reported as "stdout".
func (r *Runtime) FollowLogs(ctx context.Context, instanceID string, since time.Time, sink func(openrunner.LogLine)) error {
	err := r.follow(ctx, instanceID, since, sink)
	if apierrors.IsNotFound(err) {
		return openrunner.Errorf(openrunner.ENOTFOUND, "no instance %s", instanceID)
	}
	return err
}

func (r *Runtime) follow(ctx context.Context, pod string, since time.Time, sink func(openrunner.LogLine)) error {
	opts := &corev1.PodLogOptions{Container: container, Follow: true, Timestamps: true}
	if !since.IsZero() {
		t := metav1.NewTime(since)
		opts.SinceTime = &t
	}
	rc, err := r.client.CoreV1().Pods(r.ns).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	return scanLines(rc, since, sink)
}

// scanLines parses "RFC3339Nano text" lines of the Pod log API.
func scanLines(rd io.Reader, since time.Time, sink func(openrunner.LogLine)) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		ts, text, _ := strings.Cut(sc.Text(), " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t, text = time.Now(), sc.Text()
		}
		if t.Before(since) {
			continue
		}
		sink(openrunner.LogLine{Time: t, Stream: "stdout", Text: text})
	}
	return sc.Err()
}
