package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/openrunner/openrunner"
)

// revision is what the runtime remembers of one revision between events:
// the count set, the failures seen, and the Pods it has judged.
type revision struct {
	serviceARN, id string
	port           int
	hc             openrunner.HealthCheckConfig
	replicas       int // -1: adopted, not set since
	failures       []openrunner.InstanceFailure
	failureCount   int
	seen           map[string]bool // failure keys already recorded
	wasReady       map[string]bool // pod name → it has been ready
	judged         map[string]bool // pod name → examined once
	last           string          // fingerprint of the status last told
}

func key(serviceARN, revisionID string) string { return serviceARN + "\x00" + revisionID }

// SetRevision creates the revision's Secret and Deployment, or sets the
// replicas of the Deployment that exists; see openrunner.Runtime.
func (r *Runtime) SetRevision(ctx context.Context, spec openrunner.RevisionSpec) error {
	if err := spec.Instance.Validate(); err != nil {
		return err
	}
	if len(spec.Instance.Networks) > 0 {
		return openrunner.Errorf(openrunner.EINVALID, "VPC egress (networks %v) is not available on the Kubernetes runtime", spec.Instance.Networks)
	}
	if spec.Replicas < 0 {
		return openrunner.Errorf(openrunner.EINVALID, "replicas %d is negative", spec.Replicas)
	}
	if r.closed() {
		return errClosed
	}
	rev := r.revisionFor(spec.ServiceARN, spec.RevisionID)
	r.mu.Lock()
	rev.port, rev.hc = spec.Instance.Port, spec.HealthCheck
	r.mu.Unlock()
	name := objectName(spec.ServiceARN, spec.RevisionID)
	deploys := r.client.AppsV1().Deployments(r.ns)
	d, err := deploys.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		err = r.create(ctx, spec)
	case err == nil && (d.Spec.Replicas == nil || int(*d.Spec.Replicas) != spec.Replicas):
		err = r.scale(ctx, d, spec.Replicas)
	}
	if err != nil {
		return fmt.Errorf("kubernetes: revision %s: %w", spec.RevisionID, err)
	}
	r.mu.Lock()
	rev.replicas = spec.Replicas
	r.mu.Unlock()
	r.kick(key(spec.ServiceARN, spec.RevisionID))
	return nil
}

// revisionFor returns the revision's record, making it if new.
func (r *Runtime) revisionFor(serviceARN, id string) *revision {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key(serviceARN, id)
	rev := r.revs[k]
	if rev == nil {
		rev = &revision{serviceARN: serviceARN, id: id, replicas: -1, seen: map[string]bool{}, wasReady: map[string]bool{}, judged: map[string]bool{}}
		r.revs[k] = rev
	}
	return rev
}

// create makes the Secret, then the Deployment, then gives the Secret to
// the Deployment, so that deleting the Deployment deletes both.
func (r *Runtime) create(ctx context.Context, spec openrunner.RevisionSpec) error {
	image, shell := spec.Instance.Image, false
	if res, ok := r.images.lookup(spec.Instance.Image); ok {
		image, shell = res.pinned, res.shell
	}
	secrets := r.client.CoreV1().Secrets(r.ns)
	s := r.envSecret(spec)
	if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := r.ensurePullSecret(ctx); err != nil {
		return err
	}
	d, err := r.client.AppsV1().Deployments(r.ns).Create(ctx, r.deployment(spec, image, shell, r.pullSecretName()), metav1.CreateOptions{})
	if err != nil {
		return err
	}
	owner := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":%q,"uid":%q}]}}`, d.Name, d.UID)
	_, err = secrets.Patch(ctx, s.Name, types.MergePatchType, []byte(owner), metav1.PatchOptions{})
	return err
}

// scale sets the Deployment's replicas. Scaling down, it picks the Pods
// to stop as App Runner would (not ready first, then the newest), drains
// the ready ones, and marks them with the lowest deletion cost so that
// the ReplicaSet removes those.
func (r *Runtime) scale(ctx context.Context, d *appsv1.Deployment, n int) error {
	pods := r.revisionPods(d.Annotations[AnnotationServiceARN], d.Annotations[AnnotationRevision])
	live := slices.DeleteFunc(pods, func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
	if extra := len(live) - n; extra > 0 {
		slices.SortStableFunc(live, func(a, b *corev1.Pod) int {
			if ra, rb := podReady(a), podReady(b); ra != rb {
				if !ra {
					return -1
				}
				return 1
			}
			return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
		})
		victims := live[:extra]
		r.drainPods(victims)
		for _, p := range victims {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"-1000"}}}`, deletionCost)
			if _, err := r.client.CoreV1().Pods(r.ns).Patch(ctx, p.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	_, err := r.client.AppsV1().Deployments(r.ns).Patch(ctx, d.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// drainPods calls the Drain hook for the ready ones, in parallel, bounded
// by StopGrace.
func (r *Runtime) drainPods(pods []*corev1.Pod) {
	if r.hooks.Drain == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.StopGrace)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range pods {
		if podReady(p) {
			wg.Go(func() { r.hooks.Drain(ctx, p.Name) })
		}
	}
	wg.Wait()
}

// RemoveRevision drains the revision's Pods, deletes its Deployment (the
// ReplicaSet, Pods and Secret go with it) and returns once no Pod of it is
// left; see openrunner.Runtime.
func (r *Runtime) RemoveRevision(ctx context.Context, serviceARN, revisionID string) error {
	if r.closed() {
		return errClosed
	}
	r.drainPods(r.revisionPods(serviceARN, revisionID))
	name := objectName(serviceARN, revisionID)
	fail := func(err error) error { return fmt.Errorf("kubernetes: removing revision %s: %w", revisionID, err) }
	// Scaled to zero first, the ReplicaSet stops its Pods gracefully and
	// starts none; then the Deployment goes, with its ReplicaSet and Secret.
	deploys := r.client.AppsV1().Deployments(r.ns)
	_, err := deploys.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fail(err)
	}
	bg := metav1.DeletePropagationBackground
	if err := deploys.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fail(err)
	}
	sel := metav1.ListOptions{LabelSelector: r.revSelector(serviceARN, revisionID)}
	if err := r.client.CoreV1().Secrets(r.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
		return fail(err)
	}
	// The Pods of a ReplicaSet being deleted are stopped gracefully by the
	// garbage collector, or here if the ReplicaSet went first.
	if err := r.client.CoreV1().Pods(r.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
		return fail(err)
	}
	for {
		list, err := r.client.CoreV1().Pods(r.ns).List(ctx, sel)
		if err != nil {
			return fail(err)
		}
		_, cached, _ := r.deploys.GetStore().GetByKey(r.ns + "/" + name)
		if len(list.Items) == 0 && !cached && len(r.revisionPods(serviceARN, revisionID)) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("%d Pods left: %w", len(list.Items), ctx.Err()))
		case <-time.After(250 * time.Millisecond):
		}
	}
	r.mu.Lock()
	delete(r.revs, key(serviceARN, revisionID))
	r.mu.Unlock()
	r.changed(serviceARN)
	return nil
}

// Revisions reports the revisions of the Deployments this runtime owns
// (those set and those found), one service's or all; see
// openrunner.Runtime.
func (r *Runtime) Revisions(ctx context.Context, serviceARN string) ([]openrunner.RevisionStatus, error) {
	if r.closed() {
		return nil, errClosed
	}
	var out []openrunner.RevisionStatus
	listed := map[string]bool{}
	for _, obj := range r.deploys.GetStore().List() {
		d, ok := obj.(*appsv1.Deployment)
		if !ok || d.DeletionTimestamp != nil {
			continue
		}
		arn, id := d.Annotations[AnnotationServiceARN], d.Annotations[AnnotationRevision]
		if arn == "" || (serviceARN != "" && arn != serviceARN) {
			continue
		}
		listed[key(arn, id)] = true
		out = append(out, r.status(arn, id, d))
	}
	// Set, but not seen by the informer yet: nothing runs so far.
	r.mu.Lock()
	for k, rev := range r.revs {
		if !listed[k] && rev.replicas >= 0 && (serviceARN == "" || rev.serviceARN == serviceARN) {
			out = append(out, r.statusLocked(rev, nil))
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b openrunner.RevisionStatus) int {
		if a.ServiceARN != b.ServiceARN {
			return compare(a.ServiceARN, b.ServiceARN)
		}
		return compare(a.RevisionID, b.RevisionID)
	})
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
